// A partition moving between members of one consumer group, with
// ingest.replay_moved_partitions: the member that receives it catches up
// from its own offset, so every user it holds has their whole history.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "app/engine_host.h"
#include "state/store.h"
#include "stream/embedded_broker.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

namespace marquee {
namespace {

using namespace std::chrono_literals;

TEST(partition_handoff, a_member_given_a_moved_partition_replays_it_and_holds_whole_histories) {
    spdlog::set_level(spdlog::level::err);
    stream::embedded_broker broker;
    testing::create_engine_topics(broker, 2);
    testing::temp_dir dir_a, dir_b;
    auto settings = [&](const testing::temp_dir& dir) {
        auto c = testing::engine_config(broker.bootstrap(), dir.str());
        c.ingest.replay_moved_partitions = true;
        c.ingest.ready_max_lag = 0;
        return c;
    };
    const auto before = testing::synthetic_events(40, 100, 2000, 41);
    const auto after = testing::synthetic_events(40, 100, 2000, 42);
    auto applied = [](app::engine_host& h) { return testing::metric_sum(h.registry(), "marquee_events_applied_total"); };
    auto assigned = [](app::engine_host& h) {
        return testing::metric_sum(h.registry(), "marquee_consumer_assigned_partitions");
    };
    testing::produce_events(broker.bootstrap(), "marquee.events", before);
    {
        app::engine_host a(settings(dir_a));
        ASSERT_TRUE(testing::wait_until([&] { return applied(a) == double(before.size()); }, 30s));
        // B joins: the group gives it one of the two partitions, which A
        // consumed to the end; B replays it from the beginning.
        app::engine_host b(settings(dir_b));
        ASSERT_TRUE(testing::wait_until([&] { return assigned(a) == 1 && assigned(b) == 1; }, 60s))
            << "A " << assigned(a) << ", B " << assigned(b);
        ASSERT_TRUE(testing::wait_until([&] { return b.ready(); }, 30s));
        testing::produce_events(broker.bootstrap(), "marquee.events", after);
        ASSERT_TRUE(testing::wait_until(
            [&] { return a.ready() && b.ready() && applied(a) + applied(b) >= double(2 * before.size()); }, 30s));
        std::this_thread::sleep_for(500ms);
        EXPECT_GT(applied(a) + applied(b), double(before.size() + after.size()))
            << "B applied its partition's first events again";
    }
    // Every user B holds has their whole history, both batches.
    auto all = before;
    all.insert(all.end(), after.begin(), after.end());
    auto b_store = state::store::open({.path = dir_b.str()});
    ASSERT_TRUE(b_store);
    int held = 0;
    for (const auto& [user, counts] : testing::count_by_user(all)) {
        auto u = b_store.value()->get_user(user);
        ASSERT_TRUE(u) << user;
        if (!u.value()) continue;
        ++held;
        EXPECT_EQ(u.value()->counts, counts) << user;
    }
    EXPECT_GT(held, 0);
}

TEST(partition_handoff, a_member_left_without_a_partition_says_why_it_may_be_waiting) {
    // After a kill, the restarted member owns nothing until the old one's
    // session times out, and nothing said so. A spare member (one partition,
    // two members) waits the same way, for good.
    testing::captured_log log;
    log.logger().set_level(spdlog::level::warn);
    stream::embedded_broker broker;
    testing::create_engine_topics(broker, 1);
    testing::temp_dir dir_a, dir_b;
    auto assigned = [](app::engine_host& h) {
        return testing::metric_sum(h.registry(), "marquee_consumer_assigned_partitions");
    };
    app::engine_host a(testing::engine_config(broker.bootstrap(), dir_a.str()));
    ASSERT_TRUE(testing::wait_until([&] { return assigned(a) == 1; }, 30s));
    EXPECT_EQ(log.text().find("no partition of"), std::string::npos) << log.text();
    app::engine_host b(testing::engine_config(broker.bootstrap(), dir_b.str()));
    ASSERT_TRUE(testing::wait_until([&] { return log.text().find("no partition of") != std::string::npos; }, 30s))
        << log.text();
    EXPECT_EQ(assigned(b), 0);
    EXPECT_NE(log.text().find("session.timeout.ms = 6000 ms"), std::string::npos) << log.text();
}

}  // namespace
}  // namespace marquee
