#include "bandits/disjoint_linucb.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>
#include <vector>

namespace marquee::bandits {
namespace {

TEST(disjoint_linucb, matches_a_hand_computed_example_and_keeps_arms_apart) {
    disjoint_linucb<2> p(2, {.alpha = 1.0, .lambda = 1.0});
    const Eigen::Vector2d x(1.0, 1.0), e0(1.0, 0.0);
    // Untrained: score = alpha |x|.
    EXPECT_NEAR(p.score(0, x), std::sqrt(2.0), 1e-12);
    p.update(0, x, 1.0);
    // Arm 0: A = [[2,1],[1,2]], theta = (1/3, 1/3); e0: mean 1/3, width sqrt(2/3).
    EXPECT_NEAR(p.score(0, e0), 1.0 / 3.0 + std::sqrt(2.0 / 3.0), 1e-12);
    p.update(0, e0, 0.0);
    // A = [[3,1],[1,2]], A^-1 = [[2,-1],[-1,3]] / 5, theta = (1, 2) / 5.
    EXPECT_NEAR(p.arm(0).theta()[0], 0.2, 1e-12);
    EXPECT_NEAR(p.arm(0).theta()[1], 0.4, 1e-12);
    // Arm 1 never learned anything.
    EXPECT_NEAR(p.score(1, e0), 1.0, 1e-12);
    EXPECT_EQ(p.arm(1).updates(), 0u);
}

TEST(disjoint_linucb, sherman_morrison_matches_the_direct_inverse_after_10k_updates) {
    constexpr int d = 8, arms = 3;
    disjoint_linucb<d> p(arms, {.alpha = 1.0, .lambda = 1.5});
    using mat = Eigen::Matrix<double, d, d>;
    using vec = Eigen::Matrix<double, d, 1>;
    std::vector<mat> a(arms, 1.5 * mat::Identity());
    std::vector<vec> b(arms, vec::Zero());
    std::mt19937_64 rng(7);
    std::normal_distribution<double> n(0.0, 1.0);
    for (int t = 0; t < 10000; ++t) {
        const auto arm = std::uint32_t(t % arms);
        vec x;
        for (int i = 0; i < d; ++i) x[i] = n(rng);
        const double r = n(rng) > 0.5 ? 1.0 : 0.0;
        p.update(arm, x, r);
        a[arm] += x * x.transpose();
        b[arm] += r * x;
    }
    for (std::uint32_t arm = 0; arm < arms; ++arm) {
        const mat direct = a[arm].inverse();
        EXPECT_LT((p.arm(arm).a_inverse() - direct).norm() / direct.norm(), 1e-8) << arm;
        EXPECT_LT((p.arm(arm).theta() - direct * b[arm]).norm(), 1e-8) << arm;
    }
}

TEST(disjoint_linucb, learns_the_best_arm_per_context) {
    disjoint_linucb<2> p(2, {.alpha = 0.5});
    const Eigen::Vector2d ctx_a(1.0, 0.0), ctx_b(0.0, 1.0);
    for (int t = 0; t < 300; ++t) {
        p.update(0, ctx_a, 1.0);
        p.update(0, ctx_b, 0.0);
        p.update(1, ctx_a, 0.0);
        p.update(1, ctx_b, 1.0);
    }
    EXPECT_GT(p.score(0, ctx_a), p.score(1, ctx_a));
    EXPECT_GT(p.score(1, ctx_b), p.score(0, ctx_b));
}

TEST(disjoint_scorer, binds_arms_and_samples_when_tracking_cholesky) {
    disjoint_linucb<2> ucb_only(2, {.alpha = 1.0});
    disjoint_linucb<2> sampled(2, {.alpha = 1.0, .lambda = 1.0, .ts_v = 0.5});
    const std::vector<std::uint32_t> arms{1, 0};
    const std::vector<Eigen::Vector2d> xs{{1.0, 0.0}, {0.0, 1.0}};
    EXPECT_FALSE((disjoint_scorer<2>(ucb_only, arms, xs).can_sample()));
    disjoint_scorer<2> view(sampled, arms, xs);
    ASSERT_TRUE(view.can_sample());
    double mean[2], bonus[2], draw[2];
    view.score(mean, bonus);
    EXPECT_NEAR(bonus[0], 1.0, 1e-12);
    normal_source normal(3);
    view.sample(draw, normal);
    EXPECT_NE(draw[0], draw[1]);
}

}  // namespace
}  // namespace marquee::bandits
