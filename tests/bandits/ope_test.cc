#include "bandits/ope.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "core/rng.h"

namespace marquee::bandits {
namespace {

// Two equally likely contexts, three actions, Bernoulli rewards with known
// means; a non-uniform logging policy mu and a different target policy pi.
// True value V = sum_x 0.5 sum_a pi(a|x) r(x,a), computed in the test.
constexpr std::array<std::array<double, 3>, 2> reward_mean{{{0.2, 0.5, 0.8}, {0.6, 0.3, 0.1}}};
constexpr std::array<std::array<double, 3>, 2> logging{{{0.5, 0.3, 0.2}, {0.2, 0.3, 0.5}}};
constexpr std::array<std::array<double, 3>, 2> target{{{0.1, 0.2, 0.7}, {0.7, 0.2, 0.1}}};

double true_value() {
    double v = 0.0;
    for (int x = 0; x < 2; ++x)
        for (int a = 0; a < 3; ++a) v += 0.5 * target[x][a] * reward_mean[x][a];
    return v;
}

struct logged {
    int context;
    std::uint32_t action;
    double reward;
};

std::vector<logged> simulate(int n, std::uint64_t seed) {
    core::splitmix64 rng(seed);
    std::vector<logged> out;
    for (int i = 0; i < n; ++i) {
        const int x = rng.uniform() < 0.5 ? 0 : 1;
        const double u = rng.uniform();
        std::uint32_t a = u < logging[x][0] ? 0 : u < logging[x][0] + logging[x][1] ? 1 : 2;
        out.push_back({x, a, rng.uniform() < reward_mean[x][a] ? 1.0 : 0.0});
    }
    return out;
}

std::vector<ope_sample> to_samples(const std::vector<logged>& log) {
    std::vector<ope_sample> s;
    for (const auto& l : log) s.push_back({l.reward, logging[l.context][l.action], target[l.context][l.action]});
    return s;
}

// q(x, a): `exact` uses the true means, otherwise a deliberately wrong constant.
std::vector<dr_sample> to_dr(const std::vector<logged>& log, bool exact) {
    std::vector<dr_sample> s;
    for (const auto& l : log) {
        auto q = [&](std::uint32_t a) { return exact ? reward_mean[l.context][a] : 0.5; };
        s.push_back(make_dr_sample(l.action, l.reward, logging[l.context][l.action], target[l.context], q));
    }
    return s;
}

struct summary {
    double mean = 0, sd = 0;
    int covered = 0;
};

template <class Estimate>
summary over_simulations(int sims, int n, Estimate estimate) {
    const double v = true_value();
    std::vector<double> values;
    summary s;
    for (int k = 0; k < sims; ++k) {
        const auto e = estimate(simulate(n, 1000 + std::uint64_t(k)));
        values.push_back(e.value);
        s.covered += e.lower <= v && v <= e.upper;
    }
    for (double x : values) s.mean += x / sims;
    for (double x : values) s.sd += (x - s.mean) * (x - s.mean) / (sims - 1);
    s.sd = std::sqrt(s.sd);
    return s;
}

TEST(ope, hand_computed_terms) {
    // w = (0.5/0.25, 0.25/0.5) = (2, 0.5); rewards (1, 0).
    const std::vector<ope_sample> s{{1.0, 0.25, 0.5}, {0.0, 0.5, 0.25}};
    const auto i = ips(s);
    EXPECT_DOUBLE_EQ(i.value, 1.0);  // (2 + 0) / 2
    EXPECT_NEAR(i.std_error, std::sqrt(2.0 / 2.0), 1e-12);  // sd of (2, 0) = sqrt 2, / sqrt 2
    EXPECT_NEAR(i.effective_sample_size, 2.5 * 2.5 / 4.25, 1e-12);
    const auto sn = snips(s);
    EXPECT_DOUBLE_EQ(sn.value, 2.0 / 2.5);
    // sqrt(4 (1 - 0.8)^2 + 0.25 (0 - 0.8)^2) / 2.5
    EXPECT_NEAR(sn.std_error, std::sqrt(4 * 0.04 + 0.25 * 0.64) / 2.5, 1e-12);
    const std::vector<dr_sample> d{{1.0, 0.25, 0.5, 0.6, 0.4}, {0.0, 0.5, 0.25, 0.2, 0.3}};
    // (0.4 + 2 * 0.4 + 0.3 + 0.5 * -0.2) / 2 = 0.7
    EXPECT_NEAR(doubly_robust(d).value, 0.7, 1e-12);
    EXPECT_EQ(ips({}).n, 0u);
}

TEST(ope, what_the_log_cannot_estimate_is_undefined_not_a_confident_zero) {
    // SNIPS with no weight (the target takes none of the logged actions)
    // used to be 0 with the interval [0, 0].
    const std::vector<ope_sample> unmatched{{1.0, 0.5, 0.0}, {0.0, 0.5, 0.0}};
    const auto sn = snips(unmatched);
    EXPECT_TRUE(std::isnan(sn.value));
    EXPECT_TRUE(std::isnan(sn.lower) && std::isnan(sn.upper));
    EXPECT_EQ(ips(unmatched).value, 0.0) << "IPS is defined: the target earns nothing here";
    EXPECT_TRUE(std::isnan(ips({}).value));
    // One sample says nothing of the spread.
    const std::vector<ope_sample> one{{1.0, 0.5, 0.5}};
    EXPECT_DOUBLE_EQ(ips(one).value, 1.0);
    EXPECT_TRUE(std::isnan(ips(one).std_error) && std::isnan(ips(one).lower));
    // An action logged with probability 0 that the target never takes weighs nothing (not 0/0).
    const std::vector<ope_sample> never_taken{{1.0, 0.0, 0.0}, {1.0, 0.5, 0.5}, {0.0, 0.5, 0.5}};
    EXPECT_DOUBLE_EQ(ips(never_taken).value, 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(snips(never_taken).value, 0.5);
    // The bootstrap leaves out the resamples SNIPS cannot normalise instead
    // of counting them as 0: two matches in twenty, both rewarded.
    std::vector<ope_sample> sparse(20, {0.0, 0.5, 0.0});
    sparse[3] = sparse[11] = {1.0, 0.5, 0.5};
    const auto b = bootstrap(sparse, ope_kind::snips, 500, 7);
    EXPECT_DOUBLE_EQ(b.value, 1.0);
    EXPECT_DOUBLE_EQ(b.lower, 1.0);
    EXPECT_DOUBLE_EQ(b.upper, 1.0);
}

TEST(ope, make_dr_sample_takes_the_expectation_under_the_target) {
    const std::array<double, 3> pi{0.2, 0.0, 0.8};
    auto s = make_dr_sample(1, 1.0, 0.5, pi, [](std::uint32_t a) { return 0.1 * (a + 1); });
    EXPECT_DOUBLE_EQ(s.target_prob, 0.0);
    EXPECT_DOUBLE_EQ(s.q_logged, 0.2);
    EXPECT_NEAR(s.q_target, 0.2 * 0.1 + 0.8 * 0.3, 1e-15);
}

TEST(ope, estimators_are_unbiased_on_a_synthetic_problem_with_known_value) {
    const int sims = 400, n = 400;
    const double v = true_value();
    const auto i = over_simulations(sims, n, [](const auto& log) { return ips(to_samples(log)); });
    const auto sn = over_simulations(sims, n, [](const auto& log) { return snips(to_samples(log)); });
    const auto dr_wrong = over_simulations(sims, n, [](const auto& log) { return doubly_robust(to_dr(log, false)); });
    const auto dr_exact = over_simulations(sims, n, [](const auto& log) { return doubly_robust(to_dr(log, true)); });
    // The mean over simulations is within 4 standard errors of the truth.
    EXPECT_NEAR(i.mean, v, 4 * i.sd / std::sqrt(sims));
    EXPECT_NEAR(dr_wrong.mean, v, 4 * dr_wrong.sd / std::sqrt(sims));
    EXPECT_NEAR(dr_exact.mean, v, 4 * dr_exact.sd / std::sqrt(sims));
    // SNIPS is biased O(1/n); at n = 400 that is far below its noise.
    EXPECT_NEAR(sn.mean, v, 4 * sn.sd / std::sqrt(sims) + 0.01);
    // A correct reward model only leaves the reward noise: lower variance.
    EXPECT_LT(dr_exact.sd, i.sd);
    // 95% intervals cover the truth about 95% of the time.
    for (const auto* s : {&i, &sn, &dr_wrong, &dr_exact}) {
        EXPECT_GE(s->covered, int(0.90 * sims));
        EXPECT_LE(s->covered, int(0.99 * sims));
    }
}

TEST(ope, a_wrong_model_without_correction_would_be_biased) {
    // Guard that the unbiasedness test can fail: the direct method alone
    // (the q_target term) with the wrong model is off by a lot.
    double dm = 0.0;
    for (const auto& s : to_dr(simulate(4000, 1), false)) dm += s.q_target / 4000;
    EXPECT_GT(std::abs(dm - true_value()), 0.05);
}

TEST(ope, bootstrap_is_seeded_and_agrees_with_the_normal_interval) {
    const auto samples = to_samples(simulate(2000, 77));
    const auto a = bootstrap(samples, ope_kind::snips, 400, 5);
    const auto b = bootstrap(samples, ope_kind::snips, 400, 5);
    const auto normal = snips(samples);
    EXPECT_EQ(a.lower, b.lower);
    EXPECT_EQ(a.upper, b.upper);
    EXPECT_DOUBLE_EQ(a.value, normal.value);
    EXPECT_NEAR(a.std_error / normal.std_error, 1.0, 0.2);
    EXPECT_LT(a.lower, a.value);
    EXPECT_GT(a.upper, a.value);
    const auto i = bootstrap(samples, ope_kind::ips, 400, 5);
    EXPECT_NEAR(i.std_error / ips(samples).std_error, 1.0, 0.2);
}

// Replay: logs of a uniform-random policy over K = 3 actions; a fixed target
// policy (argmax of the true means per context) and a learning one.
struct uniform_log {
    std::vector<int> context;
    std::vector<replay_event> events;
};

uniform_log simulate_uniform(int n, std::uint64_t seed) {
    core::splitmix64 rng(seed);
    uniform_log log;
    for (int i = 0; i < n; ++i) {
        const int x = rng.uniform() < 0.5 ? 0 : 1;
        const auto a = std::uint32_t(rng.below(3));
        log.context.push_back(x);
        log.events.push_back({a, rng.uniform() < reward_mean[x][a] ? 1.0 : 0.0});
    }
    return log;
}

struct fixed_policy {
    const uniform_log& log;
    std::uint32_t choose(std::size_t i) const { return log.context[i] == 0 ? 2u : 0u; }
    void learn(std::size_t, double) {}
};

struct greedy_learner {
    const uniform_log& log;
    std::array<std::array<double, 3>, 2> sum{}, count{};
    std::size_t last = 0;
    std::uint32_t choose(std::size_t i) {
        last = i;
        const int x = log.context[i];
        std::uint32_t best = 0;
        double best_v = -1;
        for (std::uint32_t a = 0; a < 3; ++a) {
            const double v = count[x][a] == 0 ? 1.0 : sum[x][a] / count[x][a];  // optimistic start
            if (v > best_v) best = a, best_v = v;
        }
        return best;
    }
    void learn(std::size_t i, double r) {
        const int x = log.context[i];
        const auto a = log.events[i].logged_action;
        sum[x][a] += r;
        count[x][a] += 1;
    }
};

TEST(replay, is_unbiased_for_a_fixed_policy_on_uniform_logs) {
    const double v = 0.5 * 0.8 + 0.5 * 0.6;  // the per-context best actions
    const int sims = 300;
    double mean = 0.0, sq = 0.0;
    int covered = 0;
    std::size_t matched = 0;
    for (int k = 0; k < sims; ++k) {
        const auto log = simulate_uniform(900, 50 + std::uint64_t(k));
        fixed_policy p{log};
        const auto e = replay(std::span<const replay_event>(log.events), p);
        mean += e.value / sims;
        sq += e.value * e.value / sims;
        covered += e.lower <= v && v <= e.upper;
        matched += e.n;
    }
    const double sd = std::sqrt(std::max(0.0, sq - mean * mean));
    EXPECT_NEAR(mean, v, 4 * sd / std::sqrt(sims));
    EXPECT_NEAR(double(matched) / sims, 300.0, 10.0);  // about 1/K of the log
    EXPECT_GE(covered, int(0.90 * sims));
}

TEST(replay, a_learning_policy_improves_on_uniform) {
    const auto log = simulate_uniform(30000, 9);
    greedy_learner p{log};
    const auto e = replay(std::span<const replay_event>(log.events), p);
    const double uniform_value = (0.2 + 0.5 + 0.8 + 0.6 + 0.3 + 0.1) / 6;
    EXPECT_GT(e.lower, uniform_value);
    EXPECT_LT(e.value, 0.7 + 1e-9 + 3 * e.std_error);
}

}  // namespace
}  // namespace marquee::bandits
