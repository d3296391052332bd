#include <gtest/gtest.h>

#include <Eigen/Core>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "bandits/disjoint_linucb.h"
#include "bandits/hybrid_linucb.h"
#include "bandits/linear_ts.h"
#include "bandits/slate.h"

namespace marquee::bandits {
namespace {

// A scorer with given means and bonuses; draws are mean + sd * N(0,1),
// independent per candidate, so Thompson probabilities can be computed.
class table_scorer final : public scorer {
public:
    table_scorer(std::vector<double> mean, std::vector<double> bonus, std::vector<double> sd = {})
        : mean_(std::move(mean)), bonus_(std::move(bonus)), sd_(std::move(sd)) {}
    std::size_t size() const override { return mean_.size(); }
    void score(std::span<double> m, std::span<double> b) const override {
        std::copy(mean_.begin(), mean_.end(), m.begin());
        std::copy(bonus_.begin(), bonus_.end(), b.begin());
    }
    bool can_sample() const override { return !sd_.empty(); }
    void sample(std::span<double> out, normal_source& normal) const override {
        for (std::size_t i = 0; i < mean_.size(); ++i) out[i] = mean_[i] + sd_[i] * normal();
    }

private:
    std::vector<double> mean_, bonus_, sd_;
};

struct first_slot_stats {
    std::map<std::uint32_t, int> count;
    std::map<std::uint32_t, double> propensity;  // last seen
    double max_spread = 0.0;                     // of propensities reported for one item
};

first_slot_stats run_first_slot(const scorer& s, slate_options o, int trials) {
    o.k = 1;
    first_slot_stats st;
    std::map<std::uint32_t, std::pair<double, double>> range;
    for (int t = 0; t < trials; ++t) {
        auto slate = fill_slate(s, o, {.meta = {}, .forced = {}, .seed = std::uint64_t(t) * 7919 + 3});
        const auto c = slate.at(0).candidate;
        ++st.count[c];
        st.propensity[c] = slate[0].propensity;
        auto [it, fresh] = range.emplace(c, std::pair{slate[0].propensity, slate[0].propensity});
        it->second.first = std::min(it->second.first, slate[0].propensity);
        it->second.second = std::max(it->second.second, slate[0].propensity);
    }
    for (auto& [c, r] : range) st.max_spread = std::max(st.max_spread, r.second - r.first);
    return st;
}

const table_scorer three({0.5, 0.4, 0.1}, {0.0, 0.3, 0.0}, {0.1, 0.1, 0.2});

TEST(policy_kind, names_round_trip) {
    for (auto k : {policy_kind::ucb, policy_kind::thompson, policy_kind::greedy, policy_kind::epsilon_greedy,
                   policy_kind::uniform})
        EXPECT_EQ(parse_policy_kind(to_string(k)), k);
    EXPECT_FALSE(parse_policy_kind("nope"));
}

TEST(fill_slate, greedy_ranks_by_mean_with_propensity_one) {
    auto slate = fill_slate(three, {.k = 3, .epsilon = 0.5, .policy = policy_kind::greedy}, {});
    ASSERT_EQ(slate.size(), 3u);
    EXPECT_EQ(slate[0].candidate, 0u);
    EXPECT_EQ(slate[1].candidate, 1u);
    EXPECT_EQ(slate[2].candidate, 2u);
    for (const auto& s : slate) EXPECT_DOUBLE_EQ(s.propensity, 1.0);
}

TEST(fill_slate, a_nan_score_never_wins_a_slot) {
    // First in line, it used to take the slot on every seed (nothing
    // compares greater than NaN), and its reward was then refused.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const table_scorer first_nan({nan, 0.4, 0.1}, {0.0, 0.0, 0.0});
    for (auto policy : {policy_kind::greedy, policy_kind::ucb}) {
        auto slate = fill_slate(first_nan, {.k = 2, .epsilon = 0.0, .policy = policy}, {});
        ASSERT_EQ(slate.size(), 2u);
        EXPECT_EQ(slate[0].candidate, 1u) << to_string(policy);
        EXPECT_EQ(slate[1].candidate, 2u) << to_string(policy);
    }
}

TEST(fill_slate, ucb_ranks_by_mean_plus_bonus) {
    auto slate = fill_slate(three, {.k = 1, .epsilon = 0.0, .policy = policy_kind::ucb}, {});
    EXPECT_EQ(slate[0].candidate, 1u);  // 0.4 + 0.3 > 0.5
    EXPECT_TRUE(slate[0].explored);
}

TEST(fill_slate, exact_propensities_sum_to_one_and_match_frequencies) {
    for (auto kind : {policy_kind::ucb, policy_kind::epsilon_greedy, policy_kind::uniform}) {
        const slate_options o{.k = 1, .epsilon = 0.3, .policy = kind};
        const auto dist = first_slot_distribution(three, o, {});
        double sum = 0.0;
        for (double p : dist) sum += p;
        EXPECT_NEAR(sum, 1.0, 1e-12) << to_string(kind);
        const int trials = 30000;
        auto st = run_first_slot(three, o, trials);
        EXPECT_EQ(st.max_spread, 0.0) << "exact propensities depend on the item only";
        for (auto [c, n] : st.count) {
            EXPECT_DOUBLE_EQ(st.propensity[c], dist[c]) << to_string(kind) << " " << c;
            const double sigma = std::sqrt(dist[c] * (1 - dist[c]) / trials);
            EXPECT_NEAR(double(n) / trials, dist[c], 4 * sigma + 1e-12) << to_string(kind) << " " << c;
        }
    }
    // By hand: ucb argmax is 1: (1 - 0.3) + 0.1; epsilon-greedy argmax is 0.
    EXPECT_NEAR(first_slot_distribution(three, {.k = 1, .epsilon = 0.3}, {})[1], 0.8, 1e-12);
    EXPECT_NEAR(first_slot_distribution(three, {.k = 1, .epsilon = 0.3, .policy = policy_kind::epsilon_greedy},
                                        {})[0],
                0.8, 1e-12);
    EXPECT_NEAR(first_slot_distribution(three, {.k = 1, .epsilon = 0.3, .policy = policy_kind::uniform}, {})[2],
                1.0 / 3.0, 1e-12);
}

// P(candidate 0 wins) for independent normals, by numerical integration:
// int phi((x - m0)/s0)/s0 * prod_j Phi((x - mj)/sj) dx.
double win_probability(std::size_t c, const std::vector<double>& m, const std::vector<double>& s) {
    double p = 0.0;
    const double lo = m[c] - 10 * s[c], hi = m[c] + 10 * s[c], h = (hi - lo) / 20000;
    for (double x = lo + h / 2; x < hi; x += h) {
        double f = std::exp(-0.5 * std::pow((x - m[c]) / s[c], 2)) / (s[c] * std::sqrt(2 * M_PI));
        for (std::size_t j = 0; j < m.size(); ++j)
            if (j != c) f *= 0.5 * std::erfc(-(x - m[j]) / (s[j] * std::sqrt(2.0)));
        p += f * h;
    }
    return p;
}

TEST(fill_slate, thompson_propensity_estimates_are_unbiased_and_sum_to_one) {
    const std::vector<double> m{0.5, 0.4, 0.1}, sd{0.1, 0.1, 0.2};
    const slate_options o{.k = 1, .epsilon = 0.0, .policy = policy_kind::thompson, .thompson_propensity_draws = 200};
    const auto dist = first_slot_distribution(three, o, {.meta = {}, .forced = {}, .seed = 17});
    double sum = 0.0;
    for (double p : dist) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-12);

    const int trials = 4000;
    auto st = run_first_slot(three, o, trials);
    EXPECT_GT(st.max_spread, 0.0) << "estimated propensities vary with the seed";
    // Average reported propensity of each item vs the true win probability,
    // and the empirical pick frequency vs the same.
    std::map<std::uint32_t, double> reported_sum;
    std::map<std::uint32_t, int> reported_n;
    for (int t = 0; t < trials; ++t) {
        auto s = fill_slate(three, o, {.meta = {}, .forced = {}, .seed = std::uint64_t(t) * 7919 + 3});
        reported_sum[s[0].candidate] += s[0].propensity;
        ++reported_n[s[0].candidate];
        EXPECT_GT(s[0].propensity_se, 0.0);
    }
    for (std::uint32_t c = 0; c < 2; ++c) {
        const double p = win_probability(c, m, sd);
        EXPECT_NEAR(double(st.count[c]) / trials, p, 4 * std::sqrt(p * (1 - p) / trials)) << c;
        EXPECT_NEAR(reported_sum[c] / reported_n[c], p, 4 * std::sqrt(p * (1 - p) / 200 / reported_n[c]) + 1e-3)
            << c;
    }
}

TEST(fill_slate, thompson_needs_a_posterior) {
    const table_scorer no_posterior({0.1, 0.2}, {0.0, 0.0});
    EXPECT_THROW(fill_slate(no_posterior, {.k = 1, .policy = policy_kind::thompson}, {}), std::invalid_argument);
}

TEST(fill_slate, new_release_weight_boosts_fresh_items_only) {
    const table_scorer s({0.5, 0.45, 0.45}, {0.0, 0.04, 0.04});
    const std::vector<candidate_meta> meta{{.genres = 0, .new_release = false, .age_days = 400},
                                           {.genres = 0, .new_release = true, .age_days = 60},
                                           {.genres = 0, .new_release = true, .age_days = 2}};
    slate_options o{.k = 1, .epsilon = 0.0};
    EXPECT_EQ(fill_slate(s, o, {.meta = meta, .forced = {}, .seed = 1})[0].candidate, 0u);
    o.new_release.exploration_weight = 2.0;  // 0.45 + 0.08 > 0.5, but only for the young item
    auto slate = fill_slate(s, o, {.meta = meta, .forced = {}, .seed = 1});
    EXPECT_EQ(slate[0].candidate, 2u);
    EXPECT_NEAR(slate[0].score, 0.53, 1e-12);
    o.new_release.max_age_days = 1.0;
    EXPECT_EQ(fill_slate(s, o, {.meta = meta, .forced = {}, .seed = 1})[0].candidate, 0u);
}

TEST(meta_from_features, reads_the_flag_and_recovers_age) {
    const auto x = make_features({.affinity = 0, .popularity = 0, .age_days = 12.0, .new_release = true}, request_signals{});
    const auto m = meta_from_features(x, 0b101);
    EXPECT_TRUE(m.new_release);
    EXPECT_NEAR(m.age_days, 12.0, 1e-9);
    EXPECT_EQ(m.genres, 0b101u);
}

TEST(fill_slate, works_over_every_model) {
    // Shared ridge at a dynamic dimension, with Thompson sampling.
    linear_ts<Eigen::Dynamic> ts({.lambda = 1.0, .v = 0.2}, 32);
    std::vector<Eigen::VectorXd> xs;
    for (int i = 0; i < 32; ++i) xs.push_back(Eigen::VectorXd::Unit(32, i));
    for (int t = 0; t < 100; ++t) ts.update(xs[5], 1.0);
    ridge_scorer<Eigen::Dynamic> view(ts, xs);
    auto slate = fill_slate(view, {.k = 10, .epsilon = 0.0, .policy = policy_kind::thompson}, {.seed = 4});
    ASSERT_EQ(slate.size(), 10u);
    EXPECT_EQ(slate[0].candidate, 5u);  // learned to pay; nothing else has signal
    std::set<std::uint32_t> seen;
    for (const auto& s : slate) {
        seen.insert(s.candidate);
        EXPECT_GT(s.propensity, 0.0);
        EXPECT_LE(s.propensity, 1.0);
    }
    EXPECT_EQ(seen.size(), 10u);

    disjoint_linucb<2> dis(3, {.alpha = 0.1});
    const std::vector<std::uint32_t> arms{0, 1, 2};
    const std::vector<Eigen::Vector2d> ctx(3, Eigen::Vector2d(1.0, 0.0));
    for (int t = 0; t < 50; ++t) dis.update(2, ctx[2], 1.0);
    EXPECT_EQ(fill_slate(disjoint_scorer<2>(dis, arms, ctx), {.k = 1, .epsilon = 0.0}, {})[0].candidate, 2u);

    hybrid_linucb<1, 2> hyb(3, {.alpha = 0.1});
    const std::vector<Eigen::Matrix<double, 1, 1>> z(3, Eigen::Matrix<double, 1, 1>(1.0));
    for (int t = 0; t < 50; ++t) hyb.update(1, z[1], ctx[1], 1.0);
    EXPECT_EQ(fill_slate(hybrid_scorer<1, 2>(hyb, arms, z, ctx), {.k = 1, .epsilon = 0.0}, {})[0].candidate, 1u);
}

TEST(choose_slate, can_serve_the_production_model_with_thompson_sampling) {
    linucb_policy p{linucb_options{}};
    std::vector<feature_vector> xs(8, feature_vector::Zero());
    for (int i = 0; i < 8; ++i) xs[i][0] = 1.0, xs[i][1] = 0.2 * i;
    auto a = choose_slate(p, xs, {.k = 4, .epsilon = 0.1, .policy = policy_kind::thompson}, 77);
    auto b = choose_slate(p, xs, {.k = 4, .epsilon = 0.1, .policy = policy_kind::thompson}, 77);
    ASSERT_EQ(a.size(), 4u);
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].candidate, b[i].candidate);
        EXPECT_EQ(a[i].propensity, b[i].propensity);
        EXPECT_GE(a[i].propensity, 0.1 / double(8 - i));
    }
}

TEST(fill_slate, a_reused_workspace_gives_the_same_slate) {
    slate_workspace ws;
    std::vector<slot> a, b;
    const slate_options o{.k = 2, .epsilon = 0.2, .policy = policy_kind::thompson};
    fill_slate(three, o, {.seed = 9}, ws, a);
    fill_slate(three, {.k = 3, .policy = policy_kind::uniform}, {.seed = 1}, ws, b);
    fill_slate(three, o, {.seed = 9}, ws, b);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].candidate, b[i].candidate);
}

}  // namespace
}  // namespace marquee::bandits

namespace marquee::bandits {
namespace {

// Slot s of a Thompson slate is slot 0 of the same request with the earlier
// picks reserved elsewhere (forced into later slots): same seed, same
// propensity draws, same remaining set, so the same propensity.
TEST(fill_slate, later_thompson_propensities_equal_a_first_slot_recomputation) {
    std::vector<double> mean, bonus, sd;
    for (int i = 0; i < 40; ++i) mean.push_back(0.5 + 0.002 * (i % 9)), bonus.push_back(0.0), sd.push_back(0.01);
    const table_scorer s(mean, bonus, sd);
    const slate_options o{.k = 8, .epsilon = 0.05, .policy = policy_kind::thompson, .thompson_propensity_draws = 64};
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
        auto slate = fill_slate(s, o, {.meta = {}, .forced = {}, .seed = seed});
        std::vector<forced_slot> earlier;
        for (std::size_t i = 0; i < slate.size(); ++i) {
            slate_options wide = o;
            wide.k = 40;
            const auto dist = first_slot_distribution(s, wide, {.meta = {}, .forced = earlier, .seed = seed});
            EXPECT_NEAR(slate[i].propensity, dist[slate[i].candidate], 1e-12) << "seed " << seed << " slot " << i;
            earlier.push_back({slate[i].candidate, int(i) + 1});
        }
    }
}

}  // namespace
}  // namespace marquee::bandits
