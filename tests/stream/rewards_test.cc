// Delayed rewards end to end: a served decision waits in RocksDB for its
// rewards (by decision_id, or matched to a shown item within the reward
// window), survives a restart, and gets the default reward when the window
// closes. Mock Kafka cluster, real RocksDB, real HTTP.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "app/engine_host.h"
#include "core/wall_clock.h"
#include "state/store.h"
#include "stream/embedded_broker.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

namespace marquee {
namespace {

using namespace std::chrono_literals;

using core::wall_clock_ms;

using testing::json_field;

class rewards : public ::testing::Test {
protected:
    void SetUp() override {
        spdlog::set_level(spdlog::level::warn);
        testing::create_engine_topics(broker, 4);
        testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(20, 80, 1000, 11));
    }

    app::config settings() {
        auto c = testing::engine_config(broker.bootstrap(), dir.str());
        c.applier.rewards.window = window;
        c.applier.rewards.decision_ttl = window;  // the synthetic stream's clock is in 2023
        return c;
    }

    double outcome(app::engine_host& host, const char* policy, const char* what) {
        return testing::metric_with(host.registry(), "marquee_rewards_total", {{"policy", policy}, {"outcome", what}});
    }

    // Long enough that the first engine stops (and restarts) inside it.
    const std::chrono::milliseconds window{8000};
    stream::embedded_broker broker;
    testing::temp_dir dir;
};

TEST_F(rewards, a_pending_decision_survives_a_restart_and_gets_window_and_default_rewards) {
    std::string decision_id;
    std::vector<std::string> shown;
    {
        app::engine_host host(settings());
        ASSERT_TRUE(testing::wait_until(
            [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total") >= 1000; }, 30s));
        testing::http_reply r;
        ASSERT_TRUE(testing::wait_until([&] {
            r = testing::http_get(host.http_port(), "/v1/users/viewer/recommendations?k=3");
            return r.status == 200 && testing::item_ids(r.body).size() == 3;
        }, 30s)) << r.body;
        decision_id = json_field(r.body, "decision_id");
        shown = testing::item_ids(r.body);

        // A like for the second shown item, without the decision id: the
        // reward window matches it to the decision.
        events::event like;
        like.type = events::event_type::like;
        like.user_id = "viewer";
        like.item_id = shown[1];
        like.ts_ms = wall_clock_ms();
        testing::produce_events(broker.bootstrap(), "marquee.events", {like});
        ASSERT_TRUE(testing::wait_until([&] { return outcome(host, "linucb", "window") == 1; }, 30s));
        EXPECT_EQ(outcome(host, "linucb", "default"), 0) << "the window is still open";
        EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_reward_value_total", "policy", "linucb"), 1.0);
    }
    {
        auto s = state::store::open({.path = dir.str()});
        ASSERT_TRUE(s);
        auto d = s.value()->get_decision(decision_id);
        ASSERT_TRUE(d && d.value()) << "pending across the restart";
        ASSERT_EQ(d.value()->items.size(), 3u);
        for (const auto& item : d.value()->items) EXPECT_EQ(item.rewarded, item.item_id == shown[1]) << item.item_id;
        engine::model m(settings().model);
        ASSERT_TRUE(s.value()->load_model(m));
        EXPECT_EQ(m.bandit().updates(), 1u);
    }
    {
        app::engine_host host(settings());
        // The restarted engine closes the window: the two items nobody
        // responded to get the default reward (0), exactly once.
        ASSERT_TRUE(testing::wait_until([&] { return outcome(host, "linucb", "default") == 2; }, 30s));
        std::this_thread::sleep_for(1500ms);  // another expiry pass must find nothing
        EXPECT_EQ(outcome(host, "linucb", "default"), 2);
        // A late click after the window closed finds no decision.
        events::event late;
        late.type = events::event_type::click;
        late.user_id = "viewer";
        late.item_id = shown[0];
        late.decision_id = decision_id;
        late.ts_ms = wall_clock_ms();
        testing::produce_events(broker.bootstrap(), "marquee.events", {late});
        ASSERT_TRUE(testing::wait_until([&] { return outcome(host, "unknown", "unknown_decision") == 1; }, 30s));
    }
    auto s = state::store::open({.path = dir.str()});
    ASSERT_TRUE(s);
    EXPECT_FALSE(s.value()->get_decision(decision_id).value()) << "closed decisions are forgotten";
    EXPECT_TRUE(s.value()->decisions_served_before(wall_clock_ms() + 1, 10).value().empty());
    engine::model m(settings().model);
    ASSERT_TRUE(s.value()->load_model(m));
    EXPECT_EQ(m.bandit().updates(), 3u) << "one window reward + two default rewards";
}

TEST_F(rewards, the_policy_that_served_a_decision_is_credited_with_its_reward) {
    app::engine_host host(settings());
    ASSERT_TRUE(testing::wait_until(
        [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total") >= 1000; }, 30s));
    testing::http_reply r;
    ASSERT_TRUE(testing::wait_until([&] {
        r = testing::http_get(host.http_port(), "/v1/users/ts-user/recommendations?k=2&policy=thompson");
        return r.status == 200 && testing::item_ids(r.body).size() == 2;
    }, 30s)) << r.body;
    events::event click;
    click.type = events::event_type::click;
    click.user_id = "ts-user";
    click.item_id = testing::item_ids(r.body)[0];
    click.decision_id = json_field(r.body, "decision_id");
    click.ts_ms = wall_clock_ms();
    testing::produce_events(broker.bootstrap(), "marquee.events", {click});
    ASSERT_TRUE(testing::wait_until([&] { return outcome(host, "thompson", "applied") == 1; }, 30s));
    EXPECT_EQ(outcome(host, "linucb", "applied"), 0);
    EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_reward_value_total", "policy", "thompson"), 1.0);
}

TEST_F(rewards, a_click_on_the_stream_rewards_a_rank_decision) {
    app::engine_host host(settings());
    auto r = testing::http_request(host.http_port(), "POST", "/v1/rank",
                                   R"({"context":{"daypart":"night"},"k":1,"candidates":[)"
                                   R"({"id":"a","features":{"genre":"horror"}},{"id":"b","features":{"genre":"comedy"}}]})",
                                   {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
    const auto decision_id = json_field(r.body, "decision_id");
    const auto chosen = json_field(r.body, "id");
    ASSERT_FALSE(decision_id.empty());
    ASSERT_TRUE(chosen == "a" || chosen == "b") << r.body;
    events::event click;
    click.type = events::event_type::click;
    click.user_id = "someone";
    click.item_id = chosen;
    click.decision_id = decision_id;
    click.ts_ms = wall_clock_ms();
    testing::produce_events(broker.bootstrap(), "marquee.events", {click, click});
    ASSERT_TRUE(testing::wait_until([&] {
        return testing::metric_sum(host.registry(), "marquee_rank_rewards_total", "outcome", "applied") == 1 &&
               testing::metric_sum(host.registry(), "marquee_rank_rewards_total", "outcome", "duplicate") == 1;
    }, 30s)) << "the second copy is a duplicate";
    EXPECT_EQ(outcome(host, "unknown", "unknown_decision"), 0) << "not counted as an unknown recommendation decision";
}

TEST(reward_windows_at_restart, wait_for_the_partitions_before_closing_on_the_model_clock) {
    // The model's clock says the stream is past a decision's window (an
    // event applied before the restart), but the click for it waits in the
    // backlog. Until the restarted engine owns its partitions it cannot
    // tell, so the window must stay open (TTL 1 h) and the click credit it.
    spdlog::set_level(spdlog::level::warn);
    stream::embedded_broker broker;
    testing::create_engine_topics(broker, 1);
    testing::temp_dir dir;
    const auto now = wall_clock_ms();
    const std::int64_t minute = 60'000;
    events::event recent;
    recent.type = events::event_type::like;
    recent.user_id = "someone";
    recent.item_id = "m1";
    recent.ts_ms = now - minute;
    testing::produce_events(broker.bootstrap(), "marquee.events", {recent});
    {
        app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
        ASSERT_TRUE(testing::wait_until(
            [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total") >= 1; }, 30s));
    }
    {
        auto s = state::store::open({.path = dir.str()});
        ASSERT_TRUE(s);
        engine::pending_decision d;  // served 15 min ago: 10 min window, 1 h TTL (defaults)
        d.user_id = "viewer";
        d.served_ms = now - 15 * minute;
        for (const char* item : {"m7", "m8"}) d.items.push_back({item, bandits::feature_vector::Constant(0.1), 0.5});
        auto w = s.value()->begin();
        w.put_decision("d", d);
        ASSERT_TRUE(s.value()->commit(w));
    }
    events::event click;  // one minute after serving, still in Kafka
    click.type = events::event_type::click;
    click.user_id = "viewer";
    click.item_id = "m7";
    click.ts_ms = now - 14 * minute;
    testing::produce_events(broker.bootstrap(), "marquee.events", {click});

    app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
    auto outcome = [&](const char* what) {
        return testing::metric_with(host.registry(), "marquee_rewards_total", {{"policy", "linucb"}, {"outcome", what}});
    };
    ASSERT_TRUE(testing::wait_until([&] { return outcome("window") + outcome("default") >= 1; }, 30s));
    EXPECT_EQ(outcome("window"), 1) << "the click waiting in Kafka is credited";
    EXPECT_EQ(outcome("default"), 0) << "the window was not closed before the partition was read";
}

}  // namespace
}  // namespace marquee
