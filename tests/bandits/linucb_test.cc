#include "bandits/linucb_policy.h"

#include <gtest/gtest.h>

#include <limits>

#include <Eigen/Dense>
#include <cstring>
#include <random>
#include <vector>

#include "bandits/slate.h"

namespace marquee::bandits {
namespace {

linucb_options plain(double alpha = 1.0, double lambda = 1.0) {
    linucb_options o;
    o.alpha = alpha;
    o.lambda = lambda;
    o.prior = feature_vector::Zero();
    return o;
}

feature_vector basis(std::initializer_list<std::pair<int, double>> entries) {
    feature_vector x = feature_vector::Zero();
    for (auto [i, v] : entries) x[i] = v;
    return x;
}

TEST(linucb, matches_a_hand_computed_example) {
    linucb_policy p(plain());
    const auto x1 = basis({{0, 1.0}, {1, 1.0}}), e0 = basis({{0, 1.0}}), e1 = basis({{1, 1.0}});
    // Untrained: theta = 0, bonus = alpha * |x|.
    EXPECT_DOUBLE_EQ(p.expected_reward(x1), 0.0);
    EXPECT_NEAR(p.bonus(x1), std::sqrt(2.0), 1e-12);

    // A = I + x1 x1' -> top block [[2,1],[1,2]], inverse [[2,-1],[-1,2]]/3; b = x1.
    p.update(x1, 1.0);
    EXPECT_NEAR(p.a_inverse()(0, 0), 2.0 / 3.0, 1e-12);
    EXPECT_NEAR(p.a_inverse()(0, 1), -1.0 / 3.0, 1e-12);
    EXPECT_NEAR(p.theta()[0], 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(p.theta()[1], 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(p.expected_reward(e0), 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(p.bonus(e0), std::sqrt(2.0 / 3.0), 1e-12);
    EXPECT_NEAR(p.score(e0), 1.0 / 3.0 + std::sqrt(2.0 / 3.0), 1e-12);

    // Reward 0 on e0: A = [[3,1],[1,2]], inverse [[2,-1],[-1,3]]/5, theta = [1,2]/5.
    p.update(e0, 0.0);
    EXPECT_NEAR(p.theta()[0], 0.2, 1e-12);
    EXPECT_NEAR(p.theta()[1], 0.4, 1e-12);
    EXPECT_NEAR(p.bonus(e1), std::sqrt(3.0 / 5.0), 1e-12);
    EXPECT_EQ(p.updates(), 2u);
    // Untouched dimensions keep the prior's unit variance.
    EXPECT_NEAR(p.bonus(basis({{5, 1.0}})), 1.0, 1e-12);
}

TEST(linucb, sherman_morrison_matches_the_direct_inverse_after_10k_updates) {
    linucb_policy p(plain(1.0, 2.0));
    Eigen::Matrix<double, feature_dim, feature_dim> a = 2.0 * Eigen::Matrix<double, feature_dim, feature_dim>::Identity();
    feature_vector b = feature_vector::Zero();
    std::mt19937_64 rng(1);
    std::normal_distribution<double> n(0.0, 1.0);
    std::bernoulli_distribution coin(0.3);
    for (int t = 0; t < 10000; ++t) {
        feature_vector x;
        for (int i = 0; i < feature_dim; ++i) x[i] = n(rng);
        double r = coin(rng) ? 1.0 : 0.0;
        p.update(x, r);
        a += x * x.transpose();
        b += r * x;
    }
    const auto direct = a.inverse();
    const double rel = (p.a_inverse() - direct).norm() / direct.norm();
    EXPECT_LT(rel, 1e-8);
    EXPECT_LT((p.theta() - direct * b).norm(), 1e-8);
}

TEST(linucb, refuses_a_non_finite_update_and_stays_as_it_was) {
    linucb_policy p(plain());
    ASSERT_TRUE(p.update(basis({{0, 1.0}, {1, 0.5}}), 1.0));
    const auto a_inv = p.a_inverse();
    const auto theta = p.theta();
    auto x = basis({{0, 1.0}});
    x[1] = std::numeric_limits<double>::quiet_NaN();
    EXPECT_FALSE(p.update(x, 1.0));
    x[1] = std::numeric_limits<double>::infinity();
    EXPECT_FALSE(p.update(x, 1.0));
    EXPECT_FALSE(p.update(basis({{0, 1.0}}), std::numeric_limits<double>::quiet_NaN()));
    // Finite, but x' A^-1 x overflows: it used to make A^-1 non-finite for good.
    EXPECT_FALSE(p.update(basis({{0, 1e160}, {1, 1e160}}), 1.0));
    EXPECT_EQ(p.updates(), 1u);
    EXPECT_TRUE(p.a_inverse() == a_inv);
    EXPECT_TRUE(p.theta() == theta);
}

TEST(features, a_non_finite_affinity_is_no_signal_not_a_nan_feature) {
    candidate_signals c;
    c.affinity = std::numeric_limits<double>::quiet_NaN();
    EXPECT_TRUE(make_features(c, request_signals{}).allFinite());
    EXPECT_EQ(make_features(c, request_signals{})[1], 0.0);
    c.affinity = -std::numeric_limits<double>::infinity();
    EXPECT_EQ(make_features(c, request_signals{})[1], 0.0);
}

TEST(linucb, learns_which_feature_pays) {
    linucb_policy p(plain(0.5));
    const auto good = basis({{0, 1.0}, {3, 1.0}}), bad = basis({{0, 1.0}, {4, 1.0}});
    for (int t = 0; t < 200; ++t) {
        p.update(good, 1.0);
        p.update(bad, 0.0);
    }
    EXPECT_GT(p.expected_reward(good), 0.9);
    EXPECT_LT(p.expected_reward(bad), 0.1);
    EXPECT_GT(p.score(good), p.score(bad));
}

// Serving scores all candidates in one matrix product; it must give what
// the policy gives one candidate at a time.
TEST(linucb, the_slate_scorer_gives_each_candidates_mean_and_bonus) {
    linucb_policy p(plain(0.7));
    std::mt19937_64 rng(9);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    auto random_x = [&] {
        feature_vector x;
        for (int i = 0; i < feature_dim; ++i) x[i] = u(rng);
        return x;
    };
    for (int i = 0; i < 300; ++i) p.update(random_x(), u(rng) > 0 ? 1.0 : 0.0);
    std::vector<feature_vector> xs;
    for (int i = 0; i < 37; ++i) xs.push_back(random_x());
    std::vector<double> mean(xs.size()), bonus(xs.size());
    linucb_scorer(p, xs).score(mean, bonus);
    for (std::size_t i = 0; i < xs.size(); ++i) {
        EXPECT_NEAR(mean[i], p.expected_reward(xs[i]), 1e-12);
        EXPECT_NEAR(bonus[i], p.bonus(xs[i]), 1e-12);
    }
}

TEST(linucb, serialization_round_trips_and_rejects_garbage) {
    linucb_policy p(plain());
    p.update(basis({{0, 1.0}, {2, 0.5}}), 1.0);
    auto q = linucb_policy::deserialize(p.serialize(), plain());
    ASSERT_TRUE(q);
    EXPECT_EQ(q.value().a_inverse(), p.a_inverse());
    EXPECT_EQ(q.value().theta(), p.theta());
    EXPECT_EQ(q.value().updates(), 1u);
    EXPECT_FALSE(linucb_policy::deserialize("short", plain()));
    std::string corrupt = p.serialize();
    corrupt[0] ^= 0x5a;
    EXPECT_FALSE(linucb_policy::deserialize(corrupt, plain()));
    // A model of feature map version 1 (8 features) is recognised as such.
    std::string v1 = p.serialize();
    const std::uint32_t eight = 8;
    std::memcpy(v1.data() + 4, &eight, 4);
    v1.resize(4 + 4 + 8 + sizeof(double) * (64 + 8));
    auto old = linucb_policy::deserialize(v1, plain());
    ASSERT_FALSE(old);
    EXPECT_EQ(old.error().reason, "feature_map_changed");
}

TEST(features, version_2_adds_genre_match_and_a_cyclic_time_of_day) {
    const candidate_signals c{.affinity = 9.0, .popularity = 0.5, .age_days = 0.0, .new_release = true,
                              .genre_match = 0.75};
    const auto at = [&](double hour) { return make_features(c, {.user_events = 0, .device_tv = true, .hour_of_day = hour}); };
    const auto x = at(6.0);
    EXPECT_EQ(feature_map_version, 3);
    EXPECT_EQ(x[0], 1.0);
    EXPECT_EQ(x[1], 4.0) << "affinity is clamped";
    EXPECT_EQ(x[3], 1.0);
    EXPECT_EQ(x[7], 1.0);
    EXPECT_EQ(x[8], 0.75);
    EXPECT_NEAR(x[9], 1.0, 1e-12) << "sin at 06:00";
    EXPECT_NEAR(x[10], 0.0, 1e-12);
    // 23:30 and 00:30 are neighbours; 12:30 is far from both.
    const auto late = at(23.5), early = at(0.5), noon = at(12.5);
    EXPECT_LT((late.tail<2>() - early.tail<2>()).norm(), 0.3);
    EXPECT_GT((late.tail<2>() - noon.tail<2>()).norm(), 1.9);
}

TEST(linucb, the_default_prior_ranks_by_affinity_before_any_reward) {
    linucb_policy p{linucb_options{}};
    EXPECT_GT(p.expected_reward(basis({{1, 2.0}})), p.expected_reward(basis({{1, -1.0}})));
}

}  // namespace
}  // namespace marquee::bandits
