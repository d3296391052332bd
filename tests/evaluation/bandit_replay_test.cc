#include "evaluation/bandit_replay.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/rng.h"

namespace marquee::evaluation {
namespace {

// 40 items; users rate mostly the first 8 ("hits") and like them (5 stars),
// the rest rarely and dislike them (1 star). Popularity therefore predicts
// reward, which the bandit's feature map can learn.
std::vector<events::event> stream(int n, std::uint64_t seed) {
    core::splitmix64 rng(seed);
    std::vector<events::event> out;
    for (int i = 0; i < n; ++i) {
        const bool hit = rng.uniform() < 0.7;
        const auto item = hit ? rng.below(8) : 8 + rng.below(32);
        events::event e;
        e.type = events::event_type::rating;
        e.user_id = "u" + std::to_string(rng.below(50));
        e.item_id = "m" + std::to_string(item);
        e.ts_ms = 1'700'000'000'000 + std::int64_t(i) * 60'000;
        e.value = hit ? 5.0 : 1.0;
        out.push_back(e);
    }
    return out;
}

const bandit_replay_report& report() {
    static const bandit_replay_report r = [] {
        bandit_replay_options o;
        o.arms = 5;
        return run_bandit_replay(stream(6000, 1), o);
    }();
    return r;
}

const policy_evaluation& of(bandits::policy_kind k) {
    for (const auto& p : report().policies)
        if (p.kind == k) return p;
    throw std::logic_error("policy missing");
}

TEST(bandit_replay, logs_a_uniform_decision_per_rating_once_k_items_exist) {
    const auto& r = report();
    EXPECT_EQ(r.events, 6000u);
    EXPECT_GT(r.decisions, 5900u);
    EXPECT_LE(r.decisions, 6000u);
    EXPECT_EQ(r.policies.size(), 6u) << "five policy kinds and the popularity baseline";
    // About 1/K of the decisions log the rated item, 70% of which are liked.
    EXPECT_NEAR(r.logged_reward, 0.7 / 5, 0.03);
}

TEST(bandit_replay, an_items_first_rating_logs_no_decision) {
    // Half the ratings are of items never seen before, all liked; the other
    // half rate old items, disliked. Were a first rating a decision, its item
    // would be the only candidate of age 0, and every learned policy would
    // pick "the new one" and look far better than uniform.
    core::splitmix64 rng(3);
    std::vector<events::event> evs;
    int fresh = 0;
    for (int i = 0; i < 4000; ++i) {
        events::event e;
        e.type = events::event_type::rating;
        e.user_id = "u" + std::to_string(rng.below(50));
        const bool first = i < 10 || i % 2 == 0;
        e.item_id = "m" + std::to_string(first ? fresh++ : int(rng.below(std::uint64_t(fresh))));
        e.ts_ms = 1'700'000'000'000 + std::int64_t(i) * 86'400'000;  // a day apart: only first ratings look new
        e.value = first ? 5.0 : 1.0;
        evs.push_back(e);
    }
    bandit_replay_options o;
    o.arms = 5;
    const auto r = run_bandit_replay(evs, o);
    EXPECT_EQ(r.decisions, std::size_t(evs.size() - std::size_t(fresh)));
    EXPECT_EQ(r.logged_reward, 0.0) << "only disliked repeat ratings are decisions";
    for (const auto& p : r.policies) EXPECT_EQ(p.replay.value, 0.0) << (p.kind ? to_string(*p.kind) : "popularity");
}

TEST(bandit_replay, uniform_target_estimates_agree_with_the_log) {
    const auto& u = of(bandits::policy_kind::uniform);
    // Target = logging policy: every importance weight is 1, IPS is the log mean.
    EXPECT_NEAR(u.ips.value, report().logged_reward, 1e-12);
    EXPECT_NEAR(u.snips.value, report().logged_reward, 1e-12);
    EXPECT_NEAR(u.replay.value, report().logged_reward, 4 * u.replay.std_error);
    EXPECT_NEAR(double(u.replay.n), double(report().decisions) / 5, 5 * std::sqrt(report().decisions * 0.16));
}

TEST(bandit_replay, learned_policies_beat_uniform_and_estimators_agree) {
    const double uniform = report().logged_reward;
    for (auto kind : {bandits::policy_kind::ucb, bandits::policy_kind::thompson, bandits::policy_kind::greedy}) {
        const auto& p = of(kind);
        EXPECT_GT(p.replay.lower, uniform) << to_string(kind);
        EXPECT_GT(p.doubly_robust.lower, uniform) << to_string(kind);
        // Replay and DR estimate (nearly) the same sequence of policies.
        EXPECT_NEAR(p.replay.value, p.doubly_robust.value,
                    4 * std::hypot(p.replay.std_error, p.doubly_robust.std_error))
            << to_string(kind);
    }
}

TEST(bandit_replay, popularity_is_a_deterministic_baseline_and_curves_end_at_the_estimates) {
    const policy_evaluation* popularity = nullptr;
    for (const auto& p : report().policies)
        if (p.name == "popularity") popularity = &p;
    ASSERT_NE(popularity, nullptr);
    EXPECT_FALSE(popularity->kind);
    // Hits are popular and liked here, so popularity beats uniform logging.
    EXPECT_GT(popularity->replay.lower, report().logged_reward);
    // A deterministic policy matches the uniform log about 1/K of the time.
    EXPECT_NEAR(double(popularity->replay.n), double(report().decisions) / 5, 5 * std::sqrt(report().decisions * 0.16));
    for (const auto& p : report().policies) {
        ASSERT_FALSE(p.curve.empty()) << p.name;
        EXPECT_EQ(p.curve.back().decisions, report().decisions) << p.name;
        EXPECT_NEAR(p.curve.back().replay, p.replay.value, 1e-12) << p.name;
        EXPECT_NEAR(p.curve.back().ips, p.ips.value, 1e-9) << p.name;
        for (std::size_t i = 1; i < p.curve.size(); ++i) EXPECT_GT(p.curve[i].decisions, p.curve[i - 1].decisions);
    }
}

TEST(bandit_replay, is_deterministic) {
    bandit_replay_options o;
    o.arms = 5;
    o.policies = {bandits::policy_kind::thompson};
    const auto events = stream(1500, 3);
    const auto a = run_bandit_replay(events, o), b = run_bandit_replay(events, o);
    EXPECT_EQ(a.policies[0].replay.value, b.policies[0].replay.value);
    EXPECT_EQ(a.policies[0].doubly_robust.value, b.policies[0].doubly_robust.value);
}

}  // namespace
}  // namespace marquee::evaluation
