// Reward bookkeeping in batch_applier over a real RocksDB, no Kafka (the
// applier is the Kafka-free half of ingest): when a decision's reward window
// closes, and how a reward for a decision it does not hold is counted.
#include <gtest/gtest.h>

#include "core/decision_id.h"
#include "engine/recommender.h"
#include "stream/applier_rig.h"
#include "stream/ingest_loop.h"
#include "stream/stream_fixtures.h"

namespace marquee::stream {
namespace {

struct rig : applier_rig {
    rig()
        : applier_rig(8, [] {
              applier_options o;
              o.rewards.window = std::chrono::milliseconds(1000);
              o.rewards.decision_ttl = std::chrono::milliseconds(5000);
              return o;
          }()) {}

    // One watch event at `ts`: moves the model's event clock.
    void apply_event_at(std::int64_t ts) {
        apply_json(R"({"type":"watch","user_id":"x","item_id":"m1","ts":)" + std::to_string(ts) + "}");
    }
    void serve(const std::string& id, std::int64_t served_ms, std::vector<std::string> shown = {"m7"}) {
        engine::pending_decision d;
        d.user_id = "viewer";
        d.served_ms = served_ms;
        for (const auto& item : shown) d.items.push_back({item, bandits::feature_vector::Constant(0.1), 0.5, false});
        auto w = store->begin();
        w.put_decision(id, d);
        ASSERT_TRUE(store->commit(w));
    }
    std::size_t close(std::int64_t now) { return applier.close_reward_windows(now).value(); }
    bool pending(const std::string& id) { return store->get_decision(id).value().has_value(); }
};

TEST(reward_window, waits_for_a_lagging_stream_until_the_ttl) {
    rig r;
    r.serve("d1", 100'000);
    r.apply_event_at(100'000);  // the stream has only reached the serving time
    EXPECT_EQ(r.close(101'500), 0u) << "wall clock past the window, but the stream is not";
    EXPECT_TRUE(r.pending("d1"));
    r.apply_event_at(101'200);  // the stream passes the window
    EXPECT_EQ(r.close(101'500), 1u);
    EXPECT_FALSE(r.pending("d1"));
    EXPECT_EQ(r.model.bandit().updates(), 1u) << "the default reward for the one shown item";

    // A stream that stops: the TTL (5 s) closes the window anyway.
    r.serve("d2", 200'000);
    EXPECT_EQ(r.close(204'000), 0u);
    EXPECT_EQ(r.close(205'500), 1u);
    EXPECT_EQ(r.model.bandit().updates(), 2u);
    EXPECT_EQ(r.close(300'000), 0u) << "nothing left";
}

TEST(reward_window, a_response_without_a_decision_id_rewards_the_latest_list_that_showed_the_item) {
    // m7 was shown twice inside the window; the like answers what the user
    // saw last, so the newer decision (its features, its policy) is credited.
    rig r;
    r.serve("older", 100'000, {"m7", "m8"});
    r.serve("newer", 100'500, {"m9", "m7"});
    auto rewarded = [&](const std::string& id, std::string_view item) {
        const auto stored = r.store->get_decision(id);
        if (!stored || !stored.value()) return false;
        for (const auto& shown : stored.value()->items)
            if (shown.item_id == item) return shown.rewarded;
        return false;
    };
    r.apply_json(R"({"type":"click","user_id":"viewer","item_id":"m7","ts":100700})");
    EXPECT_TRUE(rewarded("newer", "m7"));
    EXPECT_FALSE(rewarded("older", "m7"));
    // A like after the click answers the same list: not passed on to the older one.
    r.apply_json(R"({"type":"like","user_id":"viewer","item_id":"m7","ts":100750})");
    EXPECT_FALSE(rewarded("older", "m7"));
    EXPECT_EQ(r.model.bandit().updates(), 1u);
}

TEST(reward_window, a_reward_naming_another_users_decision_is_not_credited) {
    rig r;
    r.serve("d", 100'000, {"m7", "m8"});  // served to "viewer"
    r.apply_json(R"({"type":"click","user_id":"someone-else","item_id":"m7","decision_id":"d","ts":100100})");
    EXPECT_EQ(r.model.bandit().updates(), 0u);
    EXPECT_FALSE(r.store->get_decision("d").value()->items[0].rewarded);
    EXPECT_EQ(testing::metric_with(r.registry, "marquee_rewards_total", {{"policy", "linucb"}, {"outcome", "wrong_user"}}), 1);
    r.apply_json(R"({"type":"click","user_id":"viewer","item_id":"m7","decision_id":"d","ts":100200})");
    EXPECT_EQ(r.model.bandit().updates(), 1u) << "its own user's click is";
}

TEST(reward_window, a_decision_inside_its_window_stays_open_whatever_the_stream) {
    rig r;
    r.serve("d", 100'000);
    r.apply_event_at(500'000);  // the stream is far ahead
    EXPECT_EQ(r.close(100'900), 0u) << "the wall clock has not passed the window";
    EXPECT_EQ(r.close(101'100), 1u);
}

TEST(reward_window, waits_for_the_partition_still_catching_up_not_the_latest_event_seen) {
    rig r;
    r.serve("d", 100'000);
    // Another partition caught up first: the latest event applied is past
    // the window, but a partition with a backlog has only reached 100500.
    r.apply_event_at(101'200);
    std::array<partition_progress, 2> partitions{{{.lag = 0, .applied_event_ms = 101'200},
                                                  {.lag = 40, .applied_event_ms = 100'500}}};
    EXPECT_EQ(applied_stream_time(partitions, 101'500), 100'500);
    EXPECT_EQ(r.applier.close_reward_windows(101'500, 1000, applied_stream_time(partitions, 101'500)).value(), 0u);
    EXPECT_TRUE(r.pending("d"));
    // Its backlog read, the window closes.
    partitions[1] = {.lag = 0, .applied_event_ms = 101'100};
    EXPECT_EQ(applied_stream_time(partitions, 101'500), 101'500) << "nothing left to read: the wall clock";
    EXPECT_EQ(r.applier.close_reward_windows(101'500, 1000, applied_stream_time(partitions, 101'500)).value(), 1u);
    EXPECT_FALSE(r.pending("d"));
}

TEST(reward_window, an_event_dated_ahead_of_its_record_does_not_move_its_partition_past_the_backlog) {
    // A producer clock an hour fast (ts within max_ts_ahead_ms of the record
    // timestamp, so accepted) used to make a lagging partition look past the
    // window: it closed with the click still waiting in Kafka.
    rig r;
    r.serve("d", 100'000);
    const std::string ahead = R"({"type":"watch","user_id":"x","item_id":"m1","ts":)" + std::to_string(100'500 + 3'600'000) + "}";
    const raw_message m{.topic = "marquee.events", .partition = 0, .offset = 0, .key = "x", .payload = ahead,
                        .timestamp_ms = 100'500};
    ASSERT_TRUE(r.applier.apply(std::span(&m, 1)));
    EXPECT_EQ(r.applier.applied_event_time("marquee.events", 0), 100'500) << "as far as the record's own time";
    const std::array<partition_progress, 1> partitions{
        {{.lag = 40, .applied_event_ms = r.applier.applied_event_time("marquee.events", 0)}}};
    EXPECT_EQ(r.applier.close_reward_windows(101'500, 1000, applied_stream_time(partitions, 101'500)).value(), 0u);
    EXPECT_TRUE(r.pending("d"));
}

TEST(reward_window, an_event_dated_ahead_of_its_record_is_applied_at_the_records_time) {
    // It used to move the model's clock an hour ahead for good: every new
    // release aged an hour early and every popularity decayed with it.
    rig r;
    const std::int64_t record_ms = 5'000'000;
    const std::string ahead = R"({"type":"like","user_id":"x","item_id":"new","ts":)" +
                              std::to_string(record_ms + 3'600'000) + "}";
    const raw_message m{.topic = "marquee.events", .partition = 0, .offset = 0, .key = "x", .payload = ahead,
                        .timestamp_ms = record_ms};
    ASSERT_TRUE(r.applier.apply(std::span(&m, 1)));
    EXPECT_EQ(r.model.clock_ms(), record_ms);
    const auto row = r.model.items().find("new");
    ASSERT_TRUE(row);
    EXPECT_EQ(r.model.stats(*row).first_seen_ms, record_ms);
    EXPECT_EQ(r.model.stats(*row).popularity.ts_ms, record_ms) << "the like counts, and decays, from then";
    const auto user = r.store->get_user("x").value();
    ASSERT_TRUE(user);
    EXPECT_EQ(user->last_ts_ms, record_ms);

    // A ts behind its record (an event produced later) keeps its own time.
    const std::string behind = R"({"type":"like","user_id":"x","item_id":"new","ts":)" + std::to_string(record_ms) + "}";
    const raw_message later{.topic = "marquee.events", .partition = 0, .offset = 1, .key = "x", .payload = behind,
                            .timestamp_ms = record_ms + 60'000};
    ASSERT_TRUE(r.applier.apply(std::span(&later, 1)));
    EXPECT_EQ(r.model.clock_ms(), record_ms);
}

TEST(reward_window, a_close_that_fails_to_commit_leaves_the_served_bandit_as_stored) {
    // The default rewards used to stay in the live bandit when their write
    // failed; the next publish served a model no store holds.
    rig r;
    r.serve("d", 100'000);
    r.apply_event_at(100'000);
    const auto before = r.model.bandit().updates();
    {
        testing::failing_file_writes disk_full;
        EXPECT_FALSE(r.applier.close_reward_windows(110'000));
    }
    EXPECT_EQ(r.model.bandit().updates(), before) << "the refused default reward is not kept";
    r.applier.publish();
    EXPECT_EQ(r.snapshots.load()->bandit.updates(), before);
}

TEST(reward_window, a_partition_whose_backlog_is_not_known_yet_holds_windows_until_the_ttl) {
    const std::array<partition_progress, 2> partitions{{{.lag = 0, .applied_event_ms = 9'000},
                                                        {.lag = -1, .applied_event_ms = 0}}};
    EXPECT_EQ(applied_stream_time(partitions, 10'000), 0);
    EXPECT_EQ(applied_stream_time({}, 10'000), 10'000) << "no partition: nothing to wait for";
}

TEST(reward_window, the_applier_tracks_the_latest_event_time_per_partition) {
    rig r;
    r.apply_event_at(5'000);
    r.apply_event_at(4'000);  // out of order: the latest stays
    EXPECT_EQ(r.applier.applied_event_time("marquee.events", 0), 5'000);
    EXPECT_EQ(r.applier.applied_event_time("marquee.events", 1), 0);
}

TEST(reward_outcomes, an_unknown_decision_of_another_instance_is_counted_as_such) {
    rig r;
    auto click_for = [&](const std::string& decision_id) {
        r.apply_json(R"({"type":"click","user_id":"x","item_id":"m1","ts":1000,"decision_id":")" + decision_id +
                     R"("})");
    };
    click_for(core::new_decision_id(std::uint16_t(r.store->instance_tag() ^ 1)));
    click_for(core::new_decision_id(r.store->instance_tag()));
    click_for("made-up-by-a-client");
    auto outcome = [&](const char* o) {
        return testing::metric_with(r.registry, "marquee_rewards_total", {{"outcome", o}});
    };
    EXPECT_EQ(outcome("other_instance"), 1);
    EXPECT_EQ(outcome("unknown_decision"), 2);
    EXPECT_EQ(r.model.bandit().updates(), 0u);
}

}  // namespace
}  // namespace marquee::stream
