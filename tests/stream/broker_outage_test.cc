// The broker goes away and comes back (librdkafka's mock cluster): the
// outage is counted and logged, the HTTP endpoint keeps answering, and
// ingest resumes by itself with nothing lost or applied twice.
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

// 500 events stored before the outage, 500 produced after it, on a
// 2-partition topic; verify() checks that each was applied exactly once
// (verify_applied(before): those stored before it).
class broker_outage : public ::testing::Test {
protected:
    void SetUp() override {
        spdlog::set_level(spdlog::level::critical);
        testing::create_engine_topics(broker, 2);
        testing::produce_events(broker.bootstrap(), "marquee.events", before);
    }
    double applied(app::engine_host& host) { return testing::metric_sum(host.registry(), "marquee_events_applied_total"); }
    void verify() {
        auto all = before;
        all.insert(all.end(), after.begin(), after.end());
        verify_applied(all);
    }
    void verify_applied(const std::vector<events::event>& events) {
        auto s = state::store::open({.path = dir.str()});
        ASSERT_TRUE(s);
        for (const auto& [user, counts] : testing::count_by_user(events)) {
            auto u = s.value()->get_user(user);
            ASSERT_TRUE(u && u.value()) << user;
            EXPECT_EQ(u.value()->counts, counts) << user;
        }
    }

    stream::embedded_broker broker;
    testing::temp_dir dir;
    const std::vector<events::event> before = testing::synthetic_events(20, 100, 500, 21);
    const std::vector<events::event> after = testing::synthetic_events(20, 100, 500, 22);
};

TEST_F(broker_outage, is_counted_served_through_and_recovered_from_without_loss) {
    {
        app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
        ASSERT_TRUE(testing::wait_until([&] { return applied(host) >= 500; }, 30s));
        ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s)) << "the lag measured once";

        broker.set_broker_up(1, false);
        ASSERT_TRUE(testing::wait_until(
            [&] { return testing::metric_sum(host.registry(), "marquee_consumer_errors_total") >= 1; }, 30s))
            << "a broker outage is visible in metrics";
        EXPECT_EQ(testing::http_get(host.http_port(), "/v1/users/u1/recommendations?k=3").status, 200)
            << "serving does not depend on the broker";
        // Nor readiness: the lag is measured again (once a second) during the
        // outage and keeps its last value; every replica failing readiness
        // at once would take the endpoint down while each still serves.
        std::this_thread::sleep_for(1500ms);
        EXPECT_EQ(testing::http_get(host.http_port(), "/readyz").status, 200);
        broker.set_broker_up(1, true);

        testing::produce_events(broker.bootstrap(), "marquee.events", after);
        ASSERT_TRUE(testing::wait_until([&] { return applied(host) >= 1000; }, 60s)) << "ingest resumes by itself";
        std::this_thread::sleep_for(500ms);
        EXPECT_EQ(applied(host), 1000);
    }
    verify();
}

TEST_F(broker_outage, longer_than_the_session_timeout_loses_the_assignment_then_regains_it_without_loss) {
    // The group coordinator is unreachable for longer than session.timeout.ms
    // (6 s here): librdkafka gives the partitions up as lost, since another
    // member may own them by now. The engine must stop claiming readiness,
    // not commit offsets for partitions it no longer owns, keep serving, and
    // take up where its state left off once the broker is back.
    {
        app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
        auto assigned = [&] { return testing::metric_sum(host.registry(), "marquee_consumer_assigned_partitions"); };
        ASSERT_TRUE(testing::wait_until([&] { return applied(host) >= 500; }, 30s));
        ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));

        broker.set_broker_up(1, false);
        ASSERT_TRUE(testing::wait_until([&] { return assigned() == 0; }, 20s)) << "the assignment is lost";
        EXPECT_EQ(testing::metric_with(host.registry(), "marquee_consumer_rebalances_total", {{"kind", "lost"}}), 1)
            << "and counted as lost, not as an ordinary revoke";
        EXPECT_EQ(testing::http_get(host.http_port(), "/readyz").status, 503) << "owning nothing, it is not ready";
        EXPECT_EQ(testing::http_get(host.http_port(), "/healthz").status, 200);
        EXPECT_EQ(testing::http_get(host.http_port(), "/v1/users/u1/recommendations?k=3").status, 200);
        broker.set_broker_up(1, true);

        testing::produce_events(broker.bootstrap(), "marquee.events", after);
        ASSERT_TRUE(testing::wait_until([&] { return applied(host) >= 1000; }, 60s)) << "ingest resumes by itself";
        ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s)) << "and so does readiness";
        std::this_thread::sleep_for(500ms);
        EXPECT_EQ(applied(host), 1000) << "nothing applied twice";
        EXPECT_EQ(assigned(), 2);
    }
    verify();
}

TEST_F(broker_outage, with_no_broker_answering_a_stop_skips_the_group_commit_instead_of_waiting_out_the_session) {
    // With the coordinator gone, librdkafka's own commitSync waits out
    // session.timeout.ms (30 s here, 45 s by default) before giving up.
    auto c = testing::engine_config(broker.bootstrap(), dir.str());
    c.kafka.consumer_defaults["session.timeout.ms"] = "30000";
    c.ingest.revoke_commit_timeout = 1s;
    auto host = std::make_unique<app::engine_host>(c);
    ASSERT_TRUE(testing::wait_until([&] { return applied(*host) >= 500; }, 30s));
    // The group has every offset before the outage: an asynchronous commit
    // sent during it would hold the stop too (librdkafka waits for it when
    // the consumer closes, up to session.timeout.ms; README says so).
    const auto end = testing::end_offsets(broker.bootstrap(), "marquee.events", 2);
    ASSERT_TRUE(testing::wait_until(
        [&] { return testing::group_committed(broker.bootstrap(), "marquee", "marquee.events", 2) == end; }, 30s));
    broker.set_broker_up(1, false);
    std::this_thread::sleep_for(500ms);
    const auto stopping = std::chrono::steady_clock::now();
    host.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - stopping, 15s);
    broker.set_broker_up(1, true);
    verify_applied(before);
}

TEST(retention, records_deleted_before_they_were_read_are_counted_and_nothing_else_is_lost) {
    // The mock broker keeps at most 5 MB per partition, as retention would.
    // The engine reads the first events, stops, and ~9 MB arrive while it
    // is down: when it restarts, its stored offset is below the log start.
    spdlog::set_level(spdlog::level::critical);
    stream::embedded_broker broker;
    testing::create_engine_topics(broker, 1);
    testing::temp_dir dir;
    const auto first = testing::synthetic_events(20, 100, 100, 30);
    const auto while_down = testing::synthetic_events(200, 500, 60'000, 31);
    testing::produce_events(broker.bootstrap(), "marquee.events", first);
    {
        app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
        ASSERT_TRUE(testing::wait_until(
            [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total") >= 100; }, 30s));
    }
    testing::produce_events(broker.bootstrap(), "marquee.events", while_down);
    app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
    auto applied = [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total"); };
    auto skipped = [&] { return testing::metric_sum(host.registry(), "marquee_consumer_skipped_offsets_total"); };
    const auto total = double(while_down.size());
    ASSERT_TRUE(testing::wait_until([&] { return applied() + skipped() >= total; }, 60s))
        << "applied " << applied() << ", skipped " << skipped();
    std::this_thread::sleep_for(300ms);
    EXPECT_GT(skipped(), 0) << "the broker's log start moved past the stored offset";
    EXPECT_EQ(applied() + skipped(), total) << "every record is either applied or counted lost";
    EXPECT_EQ(testing::metric_with(host.registry(), "marquee_consumer_skipped_offsets_total", {{"topic", "marquee.events"}}),
              skipped());
}

TEST(retention, a_start_that_cannot_read_the_groups_offsets_counts_no_false_skips) {
    // The group is past a log whose start retention moved. A new member
    // whose own read of the group's offsets fails still starts where the
    // group is (librdkafka reads them again): nothing was deleted before it
    // read it, so nothing may be counted as skipped.
    spdlog::set_level(spdlog::level::critical);
    stream::embedded_broker broker;
    testing::create_engine_topics(broker, 1);
    testing::temp_dir first_dir, second_dir;
    const auto events = testing::synthetic_events(200, 500, 60'000, 32);
    testing::produce_events(broker.bootstrap(), "marquee.events", events);
    const auto end = testing::end_offsets(broker.bootstrap(), "marquee.events", 1);
    {
        app::engine_host first(testing::engine_config(broker.bootstrap(), first_dir.str()));
        ASSERT_TRUE(testing::wait_until(
            [&] { return testing::group_committed(broker.bootstrap(), "marquee", "marquee.events", 1) == end; }, 60s));
    }
    broker.refuse_next_offset_fetches(1);
    app::engine_host second(testing::engine_config(broker.bootstrap(), second_dir.str()));
    auto applied = [&] { return testing::metric_sum(second.registry(), "marquee_events_applied_total"); };
    // Not ready until then: with no offset of its own, its position is unknown.
    testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(10, 50, 1, 33));
    ASSERT_TRUE(testing::wait_until([&] { return applied() >= 1; }, 30s));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(applied(), 1) << "it started where the group is";
    EXPECT_EQ(testing::metric_sum(second.registry(), "marquee_consumer_skipped_offsets_total"), 0);
}

TEST(retention, records_deleted_while_a_running_consumer_lags_are_counted_too) {
    // The engine is assigned the empty partition first; then ~12 MB arrive
    // faster than it applies them, and the mock broker keeps only 5 MB.
    spdlog::set_level(spdlog::level::critical);
    stream::embedded_broker broker;
    testing::create_engine_topics(broker, 1);
    testing::temp_dir dir;
    auto c = testing::engine_config(broker.bootstrap(), dir.str());
    c.ingest.ready_max_lag = 0;
    app::engine_host host(c);
    ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));
    const auto burst = testing::synthetic_events(300, 500, 80'000, 32);
    testing::produce_events(broker.bootstrap(), "marquee.events", burst);
    auto applied = [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total"); };
    auto skipped = [&] { return testing::metric_sum(host.registry(), "marquee_consumer_skipped_offsets_total"); };
    const auto total = double(burst.size());
    ASSERT_TRUE(testing::wait_until([&] { return applied() + skipped() >= total; }, 60s))
        << "applied " << applied() << ", skipped " << skipped();
    std::this_thread::sleep_for(300ms);
    EXPECT_GT(skipped(), 0) << "the burst outran the consumer";
    EXPECT_EQ(applied() + skipped(), total);
}

TEST(readiness, needs_assigned_partitions_and_a_measured_lag_within_the_bound) {
    EXPECT_FALSE(stream::is_ready(0, 0, 10)) << "no partitions";
    EXPECT_FALSE(stream::is_ready(4, -1, 10)) << "lag not measured yet";
    EXPECT_FALSE(stream::is_ready(4, 11, 10)) << "too far behind";
    EXPECT_TRUE(stream::is_ready(4, 10, 10));
    EXPECT_TRUE(stream::is_ready(1, 0, 0));
}

TEST(readiness, an_engine_that_caught_up_is_ready) {
    spdlog::set_level(spdlog::level::err);
    stream::embedded_broker broker;
    testing::create_engine_topics(broker, 2);
    testing::temp_dir dir;
    testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(20, 100, 3000, 5));
    auto c = testing::engine_config(broker.bootstrap(), dir.str());
    c.ingest.ready_max_lag = 0;
    app::engine_host host(c);
    ASSERT_TRUE(testing::wait_until([&] { return testing::http_get(host.http_port(), "/readyz").status == 200; }, 30s));
    EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_events_applied_total"), 3000)
        << "with a bound of 0, ready means every produced event was applied";
}

}  // namespace
}  // namespace marquee
