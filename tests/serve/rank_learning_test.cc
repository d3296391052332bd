// POST /v1/rank -> POST /v1/rewards over one keep-alive connection learns a
// context x candidate interaction, and the rank model and its decisions
// survive a restart (store reopened).
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "core/byte_io.h"
#include "core/rng.h"
#include "serve/api.h"
#include "serve/http_server.h"
#include "serve/rank_service.h"
#include "serve/serve_fixture.h"
#include "stream/stream_fixtures.h"
#include "utils/raw_record.h"
#include "utils/test_utils.h"

namespace marquee::serve {
namespace {

// Decision ids from a counter, so exploration (seeded by the id) replays.
std::function<std::string()> counter_ids(std::string prefix) {
    return [prefix, n = 0]() mutable {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%08d", prefix.c_str(), ++n);
        return std::string(buf);
    };
}

struct rank_server {
    explicit rank_server(state::store& store, rank_options o = {}, std::string prefix = "d")
        : ranker(o, store, &snapshots, nullptr, registry, counter_ids(std::move(prefix))),
          api_(std::in_place, api_options{}, snapshots, store, api_links{nullptr, nullptr, &ranker}, registry,
               [] { return true; }),
          server(http_options{.port = 0, .threads = 1},
                 [this](request&& r) { return api_->handle(std::move(r)); }) {
        server.start();
    }
    // As engine_host does: the I/O threads stop, then the api (its decision
    // writer may still be posting to their io_context), then the server.
    ~rank_server() {
        server.stop();
        api_.reset();
    }
    core::snapshot_cell<engine::model_snapshot> snapshots;
    prometheus::Registry registry;
    rank_service ranker;
    std::optional<api> api_;
    http_server server;
};

// Ten candidates, two per genre; the reward is 1 iff (night, horror) or
// (day, comedy): exactly 2 of 10 pay in every context, so a uniform pick
// earns 0.2 on average.
TEST(rank_learning, rank_and_reward_rounds_over_http_beat_uniform_random_clearly) {
    testing::temp_dir dir;
    auto store = state::store::open({.path = dir.str()}).value();
    rank_server s(*store);
    testing::http_connection c(s.server.port());
    const char* genres[] = {"horror", "comedy", "drama", "documentary", "romance"};
    core::splitmix64 rng(2024);
    constexpr int rounds = 400, tail = 100;
    int paid_tail = 0;
    for (int round = 0; round < rounds; ++round) {
        const bool night = rng.below(2) == 0;
        std::string body = std::string(R"({"context":{"daypart":")") + (night ? "night" : "day") +
                           R"("},"k":1,"candidates":[)";
        for (int i = 0; i < 10; ++i) {
            // Fresh ids every round: only the features can carry what was learned.
            body += std::string(i ? "," : "") + R"({"id":"c)" + std::to_string(round * 10 + i) +
                    R"(","features":{"genre":[")" + genres[i / 2] + R"("],"length":)" +
                    std::to_string(0.5 + rng.uniform()) + "}}";
        }
        body += "]}";
        auto r = c.request("POST", "/v1/rank", body);
        ASSERT_EQ(r.status, 200) << r.body;
        const std::string id = json_field(r.body, "decision_id"), chosen = json_field(r.body, "id");
        const int index = std::stoi(chosen.substr(1)) % 10;
        const bool paid = (night && genres[index / 2] == std::string("horror")) ||
                          (!night && genres[index / 2] == std::string("comedy"));
        if (round >= rounds - tail) paid_tail += paid;
        auto w = c.request("POST", "/v1/rewards",
                           R"({"decision_id":")" + id + R"(","item_id":")" + chosen + R"(","reward":)" +
                               (paid ? "1" : "0") + "}");
        ASSERT_EQ(w.status, 200) << w.body;
        ASSERT_NE(w.body.find("\"outcome\":\"applied\""), std::string::npos) << w.body;
    }
    EXPECT_EQ(c.requests(), 2 * rounds) << "one keep-alive connection throughout";
    EXPECT_EQ(s.ranker.model_version(), std::uint64_t(rounds));
    const double rate = double(paid_tail) / tail, uniform = 2.0 / 10.0;
    // Uniform's tail count is Binomial(100, 0.2): mean 20, sd 4; 60 is 10 sd away.
    EXPECT_GE(rate, 0.6) << "reward rate of the last " << tail << " rounds: " << rate << " (uniform: " << uniform
                         << ")";
}

TEST(rank_learning, logged_rewards_and_checkpoints_replay_to_the_same_model) {
    testing::temp_dir dir;
    rank_options o;
    o.checkpoint_every = 4;  // 10 rewards: checkpoints at 4 and 8, then 2 logged
    std::string before_id;
    double before_score = 0;
    {
        auto store = state::store::open({.path = dir.str()}).value();
        prometheus::Registry r;
        rank_service ranker(o, *store, nullptr, nullptr, r, counter_ids("a"));
        rank_request rq;
        rq.context = {{"t", std::string("a")}};
        rq.candidates = {{"x", {{"g", std::vector<std::string>{"1", "2"}}}}, {"y", {{"g", std::string("3")}, {"n", 0.5}}}};
        for (int i = 0; i < 10; ++i) {
            auto d = ranker.rank(rq, 0).value();
            ASSERT_EQ(ranker.reward(d.decision_id, d.items[0].id, i % 3 == 0 ? 1.0 : 0.0, 0).value(),
                      reward_outcome::applied);
        }
        auto last = ranker.rank(rq, 0).value();
        before_id = last.items[0].id;
        before_score = last.items[0].score;
        EXPECT_EQ(ranker.model_version(), 10u);
        int logged = 0;
        ASSERT_TRUE(store->scan_rank("log/", [&](std::string_view, std::string_view) { return ++logged, true; }));
        EXPECT_EQ(logged, 2) << "a checkpoint clears the log";
    }
    auto store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry r;
    rank_service ranker(o, *store, nullptr, nullptr, r, counter_ids("a"));
    EXPECT_EQ(ranker.model_version(), 10u);
    rank_request rq;
    rq.context = {{"t", std::string("a")}};
    rq.candidates = {{"x", {{"g", std::vector<std::string>{"1", "2"}}}}, {"y", {{"g", std::string("3")}, {"n", 0.5}}}};
    for (int i = 0; i < 10; ++i) (void)ranker.rank(rq, 0);  // the same ids as before: a00000011 is next
    auto again = ranker.rank(rq, 0).value();
    EXPECT_EQ(again.items[0].id, before_id);
    EXPECT_NEAR(again.items[0].score, before_score, 1e-9) << "the replayed model scores as the live one did";
}

// Rank decisions and their expiry keys still in the store (-1: unreadable).
int decision_keys(state::store& store) {
    int n = 0;
    const auto scanned = store.scan_rank("", [&](std::string_view key, std::string_view) {
        n += key.starts_with("d/") || key.starts_with("t/");
        return true;
    });
    return scanned ? n : -1;
}

// A rank service with a 1 s reward window, over a store of its own.
struct windowed_ranker {
    static rank_options options() {
        rank_options o;
        o.reward_window = std::chrono::milliseconds(1000);
        return o;
    }
    explicit windowed_ranker(std::string id_prefix)
        : ranker(options(), *store, nullptr, nullptr, registry, counter_ids(std::move(id_prefix))) {}
    // Both of two candidates, each with a genre of its own.
    static rank_request two_genres() {
        rank_request rq;
        rq.k = 2;
        rq.candidates = {{"x", {{"g", std::string("1")}}}, {"y", {{"g", std::string("2")}}}};
        return rq;
    }
    testing::temp_dir dir;
    std::unique_ptr<state::store> store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry registry;
    rank_service ranker;
};

TEST(rank_learning, a_closed_window_gives_unrewarded_items_the_default_reward_and_forgets_the_decision) {
    windowed_ranker w("w");
    auto& ranker = w.ranker;
    rank_request rq;
    rq.k = 2;
    rq.context = {{"t", std::string("a")}};
    rq.candidates = {{"x", {{"g", std::string("1")}}}, {"y", {{"g", std::string("2")}}}, {"z", {{"g", std::string("3")}}}};
    const auto early = ranker.rank(rq, 10'000).value();
    const auto late = ranker.rank(rq, 10'500).value();
    ASSERT_EQ(ranker.reward(early.decision_id, early.items[0].id, 1.0, 10'100).value(), reward_outcome::applied);
    EXPECT_EQ(ranker.close_windows(10'999).value(), 0u) << "both windows still open";
    EXPECT_EQ(ranker.close_windows(11'001).value(), 1u) << "only the first one closed";
    EXPECT_EQ(ranker.model_version(), 2u) << "one reward + one default reward for the other shown item";
    EXPECT_EQ(ranker.reward(early.decision_id, early.items[1].id, 1.0, 11'002).value(),
              reward_outcome::unknown_decision)
        << "forgotten";
    EXPECT_EQ(ranker.reward(late.decision_id, late.items[0].id, 1.0, 11'002).value(), reward_outcome::applied);
    EXPECT_EQ(ranker.close_windows(20'000).value(), 1u);
    EXPECT_EQ(ranker.model_version(), 4u);
    EXPECT_EQ(ranker.close_windows(30'000).value(), 0u);
    EXPECT_EQ(decision_keys(*w.store), 0) << "the rank family keeps no closed decision";
    // The default rewards were checkpointed: a restart has them.
    prometheus::Registry r2;
    rank_service again(windowed_ranker::options(), *w.store, nullptr, nullptr, r2);
    EXPECT_EQ(again.model_version(), 4u);
}

TEST(rank_learning, a_reward_or_a_window_close_that_cannot_be_written_leaves_the_model_as_stored) {
    windowed_ranker w("f");
    auto& ranker = w.ranker;
    const auto rq = windowed_ranker::two_genres();
    const auto shown = ranker.rank(rq, 10'000).value();
    testing::failing_file_writes disk_full;  // a real RocksDB write error
    auto reward = ranker.reward(shown.decision_id, shown.items[0].id, 1.0, 10'100);
    ASSERT_FALSE(reward);
    EXPECT_EQ(reward.error().reason, "storage");
    EXPECT_EQ(ranker.model_version(), 0u) << "the reward is not kept unwritten";
    EXPECT_FALSE(ranker.close_windows(11'001));
    EXPECT_EQ(ranker.model_version(), 0u) << "nor are the default rewards";
    auto next = ranker.rank(rq, 11'002);
    ASSERT_FALSE(next) << "a decision that cannot be recorded is not served";
    EXPECT_EQ(next.error().reason, "storage");
}

TEST(rank_learning, the_service_closes_every_due_window_at_once_not_256_a_second) {
    windowed_ranker w("b");
    auto& ranker = w.ranker;
    rank_request rq;
    rq.k = 1;
    rq.candidates = {{"x", {}}, {"y", {}}};
    for (int n = 0; n < 700; ++n) ASSERT_TRUE(ranker.rank(rq, 10'000));
    // What the service's thread runs each second: one call, every due window.
    EXPECT_EQ(ranker.close_due_windows(20'000).value(), 700u) << "one pass of 256 would leave " << 700 - 256;
    EXPECT_EQ(decision_keys(*w.store), 0);
    EXPECT_EQ(testing::metric_sum(w.registry, "marquee_rank_rewards_total", "outcome", "default"), 700);
    EXPECT_EQ(ranker.close_due_windows(30'000).value(), 0u);
}

TEST(rank_learning, a_window_closing_pass_stops_after_64_default_rewards_and_a_restart_has_every_one) {
    // A pass used to default every item of up to 256 decisions under the lock
    // rank and reward requests wait on: at k = 20, a second of HTTP stalled.
    for (const int checkpoint_every : {256, 50}) {  // rewards logged, or crossing a checkpoint
        SCOPED_TRACE(checkpoint_every);
        testing::temp_dir dir;
        auto store = state::store::open({.path = dir.str()}).value();
        auto options = windowed_ranker::options();
        options.checkpoint_every = checkpoint_every;
        prometheus::Registry registry;
        rank_service ranker(options, *store, nullptr, nullptr, registry, counter_ids("p"));
        rank_request rq;
        rq.k = 20;
        for (int n = 0; n < 20; ++n) rq.candidates.push_back({"c" + std::to_string(n), {{"g", std::to_string(n)}}});
        for (int n = 0; n < 10; ++n) ASSERT_TRUE(ranker.rank(rq, 10'000));
        EXPECT_EQ(ranker.close_windows(20'000).value(), 4u) << "the decision that reaches 64 ends the pass";
        EXPECT_EQ(ranker.model_version(), 80u);
        EXPECT_EQ(ranker.close_due_windows(20'000).value(), 6u);
        EXPECT_EQ(ranker.model_version(), 200u);
        EXPECT_EQ(decision_keys(*store), 0);
        const auto live = ranker.rank(rq, 30'000).value();

        prometheus::Registry r2;
        rank_service again(options, *store, nullptr, nullptr, r2, counter_ids("p"));
        EXPECT_EQ(again.model_version(), 200u);
        const auto restarted = again.rank(rq, 30'000).value();
        ASSERT_EQ(restarted.items.size(), live.items.size());
        for (std::size_t n = 0; n < live.items.size(); ++n) EXPECT_NEAR(restarted.items[n].score, live.items[n].score, 1e-9);
    }
}

TEST(rank_learning, a_reward_naming_another_user_is_not_applied) {
    // Stream rewards name their user; one for a decision ranked for someone
    // else used to teach the model with that user's affinities.
    windowed_ranker w("w");
    auto rq = windowed_ranker::two_genres();
    rq.user_id = "alice";
    const auto alices = w.ranker.rank(rq, 10'000).value();
    rq.user_id.clear();
    const auto anonymous = w.ranker.rank(rq, 10'000).value();
    EXPECT_EQ(w.ranker.reward(alices.decision_id, alices.items[0].id, 1.0, 10'001, "bob").value(),
              reward_outcome::wrong_user);
    EXPECT_EQ(w.ranker.model_version(), 0u);
    EXPECT_EQ(testing::metric_sum(w.registry, "marquee_rank_rewards_total", "outcome", "wrong_user"), 1);
    EXPECT_EQ(w.ranker.reward(alices.decision_id, alices.items[0].id, 1.0, 10'001, "alice").value(),
              reward_outcome::applied);
    EXPECT_EQ(w.ranker.reward(anonymous.decision_id, anonymous.items[0].id, 1.0, 10'001, "bob").value(),
              reward_outcome::applied)
        << "a decision without a user takes anyone's reward";
    EXPECT_EQ(w.ranker.model_version(), 2u);
}

TEST(rank_learning, an_unreadable_stored_decision_is_erased_and_holds_up_no_window) {
    windowed_ranker w("u");
    auto& ranker = w.ranker;
    const auto rq = windowed_ranker::two_genres();
    const auto readable = ranker.rank(rq, 10'000).value();
    const auto damaged = ranker.rank(rq, 10'001).value();
    const auto later = ranker.rank(rq, 50'000).value();
    // The second one's record is damaged (its expiry key stays).
    const std::string key = "d/" + damaged.decision_id, bytes = "\x07not a decision";
    const std::pair<std::string_view, std::string_view> entry{key, bytes};
    ASSERT_TRUE(w.store->put_rank(std::span(&entry, 1)));

    auto closed = ranker.close_windows(20'000);
    ASSERT_TRUE(closed) << closed.error().message;
    EXPECT_EQ(closed.value(), 2u);
    EXPECT_EQ(ranker.model_version(), 2u) << "the readable decision's two items, once";
    EXPECT_EQ(testing::metric_sum(w.registry, "marquee_rank_rewards_total", "outcome", "default"), 2);
    EXPECT_EQ(testing::metric_sum(w.registry, "marquee_rank_rewards_total", "outcome", "unreadable"), 1);
    // Nothing is applied again, and the windows behind it still close.
    EXPECT_EQ(ranker.close_windows(20'000).value(), 0u);
    EXPECT_EQ(ranker.model_version(), 2u);
    EXPECT_EQ(ranker.close_windows(60'000).value(), 1u);
    EXPECT_EQ(ranker.model_version(), 4u);
    EXPECT_EQ(decision_keys(*w.store), 0);
    EXPECT_EQ(ranker.reward(readable.decision_id, "x", 1.0, 60'001).value(), reward_outcome::unknown_decision);
    EXPECT_EQ(ranker.reward(later.decision_id, "x", 1.0, 60'001).value(), reward_outcome::unknown_decision);
}

// A rank decision in its stored layout (v1, see rank_service.cc) whose items
// have these sparse x, as one ranked before feature values were bounded.
std::string legacy_decision(const std::vector<std::pair<std::string, bandits::sparse_x>>& items) {
    core::byte_writer w;
    w.put(std::uint8_t(1));
    w.put_string("");
    w.put(std::int64_t(0));
    w.put(std::uint8_t(0));
    w.put(std::uint32_t(items.size()));
    for (const auto& [id, x] : items) {
        w.put_string(id);
        w.put(1.0);
        w.put(std::uint8_t(0));
        w.put(0.0);
        w.put(std::uint32_t(x.size()));
        for (const auto& f : x) {
            w.put(f.index);
            w.put(f.value);
        }
    }
    return w.take();
}

TEST(rank_learning, rewards_the_model_refuses_are_counted_as_rejected_and_leave_it_finite) {
    testing::temp_dir dir;
    auto store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry r;
    rank_service ranker({}, *store, nullptr, nullptr, r, counter_ids("n"));
    rank_request rq;
    rq.candidates = {{"a", {{"g", std::string("1")}}}};
    const auto d = ranker.rank(rq, 0).value();
    // Overwrite its record with non-finite features (its expiry key stays).
    const double inf = std::numeric_limits<double>::infinity();
    const std::string key = "d/" + d.decision_id,
                      bytes = legacy_decision({{"bad", {{1, inf}}}, {"huge", {{2, 1e200}}}});
    const std::pair<std::string_view, std::string_view> entry{key, bytes};
    ASSERT_TRUE(store->put_rank(std::span(&entry, 1)));

    EXPECT_EQ(ranker.reward(d.decision_id, "bad", 1.0, 0).value(), reward_outcome::rejected);
    EXPECT_EQ(ranker.reward(d.decision_id, "bad", 1.0, 0).value(), reward_outcome::rejected) << "not a duplicate";
    EXPECT_EQ(ranker.model_version(), 0u);
    EXPECT_EQ(testing::metric_sum(r, "marquee_rank_rewards_total", "outcome", "rejected"), 2);
    // Closing the window refuses both default rewards and forgets the decision.
    EXPECT_EQ(ranker.close_windows(std::int64_t(1) << 40).value(), 1u);
    EXPECT_EQ(ranker.model_version(), 0u);
    EXPECT_EQ(testing::metric_sum(r, "marquee_rank_rewards_total", "outcome", "rejected"), 4);
    EXPECT_EQ(testing::metric_sum(r, "marquee_rank_rewards_total", "outcome", "default"), 0);
    auto next = ranker.rank(rq, 0).value();
    EXPECT_TRUE(std::isfinite(next.items[0].score));

    // A reward log holding a non-finite record: replay refuses it and
    // checkpoints, so the log's sequence numbers start afresh.
    const std::string log_key = "log/00000000000000000001";
    core::byte_writer w;
    w.put(1.0);
    w.put(std::uint32_t(1));
    w.put(std::uint32_t(3));
    w.put(inf);
    const std::string log = w.take();
    const std::pair<std::string_view, std::string_view> log_entry{log_key, log};
    ASSERT_TRUE(store->put_rank(std::span(&log_entry, 1)));
    prometheus::Registry r2;
    rank_service again({}, *store, nullptr, nullptr, r2, counter_ids("m"));
    EXPECT_EQ(again.model_version(), 0u);
    int logged = 0;
    ASSERT_TRUE(store->scan_rank("log/", [&](std::string_view, std::string_view) { return ++logged, true; }));
    EXPECT_EQ(logged, 0);
    EXPECT_TRUE(store->get_rank("model").value().has_value()) << "checkpointed";
    const auto fresh = again.rank(rq, 0).value();
    EXPECT_EQ(again.reward(fresh.decision_id, "a", 1.0, 0).value(), reward_outcome::applied);
    EXPECT_EQ(again.model_version(), 1u);
    EXPECT_TRUE(std::isfinite(again.rank(rq, 0).value().items[0].score));
}

TEST(rank_learning, a_stored_model_holding_a_nan_starts_again_from_the_prior) {
    testing::temp_dir dir;
    auto store = state::store::open({.path = dir.str()}).value();
    rank_request rq;
    rq.candidates = {{"a", {{"g", std::string("1")}}}, {"b", {{"g", std::string("2")}}}};
    {
        prometheus::Registry r;
        rank_options every_reward;
        every_reward.checkpoint_every = 1;
        rank_service ranker(every_reward, *store, nullptr, nullptr, r, counter_ids("n"));
        const auto d = ranker.rank(rq, 0).value();
        ASSERT_EQ(ranker.reward(d.decision_id, "a", 1.0, 0).value(), reward_outcome::applied);
    }
    // As a model poisoned before update() refused non-finite inputs: b[0] = NaN
    // (after the version byte, bits, d and the update count).
    std::string bytes = *store->get_rank("model").value();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::memcpy(bytes.data() + 1 + 4 + 4 + 8, &nan, sizeof nan);
    const std::pair<std::string_view, std::string_view> entry{"model", bytes};
    ASSERT_TRUE(store->put_rank(std::span(&entry, 1)));

    prometheus::Registry r;
    rank_service again({}, *store, nullptr, nullptr, r, counter_ids("m"));
    EXPECT_EQ(again.model_version(), 0u) << "the prior";
    const auto ranked = again.rank(rq, 0).value();
    for (const auto& item : ranked.items) EXPECT_TRUE(std::isfinite(item.score)) << item.id;
    auto stored = bandits::rank_model::deserialize(*store->get_rank("model").value(), rank_options{}.model);
    EXPECT_TRUE(stored) << "the prior replaced it in the store";
}

TEST(rank_learning, a_user_row_that_cannot_be_read_is_an_error_not_an_anonymous_user) {
    testing::temp_dir dir;
    state::store::open({.path = dir.str()}).value().reset();
    testing::put_raw(dir.str(), "users", "damaged", "not a user record");
    auto store = state::store::open({.path = dir.str()}).value();
    engine::model m(engine::model_options{});
    core::snapshot_cell<engine::model_snapshot> snapshots;
    snapshots.store(engine::take_snapshot(m, {}, nullptr));
    prometheus::Registry r;
    rank_service ranker({}, *store, &snapshots, nullptr, r, counter_ids("n"));
    rank_request rq;
    rq.candidates = {{"a", {{"g", std::string("1")}}}};
    rq.user_id = "someone";
    EXPECT_TRUE(ranker.rank(rq, 0)) << "an unknown user is fine";
    rq.user_id = "damaged";
    auto ranked = ranker.rank(rq, 0);
    ASSERT_FALSE(ranked);
    EXPECT_NE(ranked.error().reason, "invalid_parameter") << "a 503, not the client's fault";
}

TEST(rank_learning, the_model_and_its_decisions_survive_a_restart) {
    testing::temp_dir dir;
    const std::string body = R"({"context":{"a":"x"},"k":2,"candidates":[{"id":"p","features":{"g":"1"}},)"
                             R"({"id":"q","features":{"g":"2"}},{"id":"r","features":{"g":"3"}}]})";
    std::string id, first, second;
    {
        auto store = state::store::open({.path = dir.str()}).value();
        rank_server s(*store, {}, "before-");
        auto r = testing::http_request(s.server.port(), "POST", "/v1/rank", body);
        ASSERT_EQ(r.status, 200) << r.body;
        id = json_field(r.body, "decision_id");
        auto at = r.body.find("\"id\":\"") + 6;
        first = r.body.substr(at, r.body.find('"', at) - at);
        at = r.body.find("\"id\":\"", at) + 6;
        second = r.body.substr(at, r.body.find('"', at) - at);
        auto w = testing::http_request(s.server.port(), "POST", "/v1/rewards",
                                       R"({"decision_id":")" + id + R"(","item_id":")" + first + R"(","reward":1})");
        ASSERT_EQ(w.status, 200) << w.body;
        EXPECT_EQ(s.ranker.model_version(), 1u);
    }
    auto store = state::store::open({.path = dir.str()}).value();
    rank_server s(*store, {}, "after-");
    EXPECT_EQ(s.ranker.model_version(), 1u) << "the model was loaded back";
    auto again = s.ranker.reward(id, first, 1.0, 0);
    ASSERT_TRUE(again);
    EXPECT_EQ(again.value(), reward_outcome::duplicate) << "the decision remembers its rewarded item";
    auto other = s.ranker.reward(id, second, 0.0, 0);
    ASSERT_TRUE(other);
    EXPECT_EQ(other.value(), reward_outcome::applied);
    EXPECT_EQ(s.ranker.model_version(), 2u);
    // The stored decisions are not recommendation decisions.
    auto d = store->get_decision(id);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d.value()) << "rank decisions live in their own column family";
    // A model stored with other bits is refused at start-up, not silently dropped.
    rank_options wider;
    wider.model.bits = 9;
    prometheus::Registry r;
    EXPECT_THROW(rank_service(wider, *store, nullptr, nullptr, r), std::runtime_error);
}

}  // namespace
}  // namespace marquee::serve
