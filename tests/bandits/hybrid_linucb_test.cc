#include "bandits/hybrid_linucb.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>
#include <vector>

namespace marquee::bandits {
namespace {

TEST(hybrid_linucb, matches_a_hand_computed_example) {
    hybrid_linucb<1, 1> p(1, {.alpha = 1.0, .lambda = 1.0});
    const Eigen::Matrix<double, 1, 1> one(1.0);
    p.update(0, one, one, 1.0);
    // Algorithm 2 by hand: A = 2, B = 1, b = 1; A0 = 1 + 1 - 1/2 = 3/2,
    // b0 = 1 - 1/2 = 1/2, beta = 1/3, theta = (1 - 1/3) / 2 = 1/3. (The joint
    // ridge system [[2,1],[1,2]] w = (1,1) gives the same w = (1/3, 1/3).)
    EXPECT_NEAR(p.a0()(0, 0), 1.5, 1e-12);
    EXPECT_NEAR(p.beta()[0], 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(p.theta(0)[0], 1.0 / 3.0, 1e-12);
    // s = 2/3 - 2/3 + 1/2 + 1/6 = 2/3 = (1,1) [[2,-1],[-1,2]]/3 (1,1)'.
    EXPECT_NEAR(p.width(0, one, one), std::sqrt(2.0 / 3.0), 1e-12);
    EXPECT_NEAR(p.score(0, one, one), 2.0 / 3.0 + std::sqrt(2.0 / 3.0), 1e-12);
}

// The hybrid model is ridge regression on the stacked features [z, x in the
// arm's block]; Algorithm 2 is block elimination of that system. Solve the
// stacked system directly and compare everything after 10k updates.
TEST(hybrid_linucb, matches_the_direct_joint_ridge_solution_after_10k_updates) {
    constexpr int k = 3, d = 4, arms = 3, full = k + d * arms;
    const double lambda = 1.0;
    hybrid_linucb<k, d> p(arms, {.alpha = 1.0, .lambda = lambda});
    Eigen::MatrixXd a = lambda * Eigen::MatrixXd::Identity(full, full);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(full);
    std::vector<Eigen::Matrix<double, d, d>> arm_a(arms, lambda * Eigen::Matrix<double, d, d>::Identity());
    auto stack = [&](std::uint32_t arm, const auto& z, const auto& x) {
        Eigen::VectorXd f = Eigen::VectorXd::Zero(full);
        f.head(k) = z;
        f.segment(k + d * int(arm), d) = x;
        return f;
    };
    std::mt19937_64 rng(5);
    std::normal_distribution<double> n(0.0, 1.0);
    Eigen::Matrix<double, k, 1> z;
    Eigen::Matrix<double, d, 1> x;
    for (int t = 0; t < 10000; ++t) {
        const auto arm = std::uint32_t(t % arms);
        for (int i = 0; i < k; ++i) z[i] = n(rng);
        for (int i = 0; i < d; ++i) x[i] = n(rng);
        const double r = 0.3 * z[0] - 0.2 * x[1] + 0.1 * n(rng);
        p.update(arm, z, x, r);
        const Eigen::VectorXd f = stack(arm, z, x);
        a += f * f.transpose();
        b += r * f;
        arm_a[arm] += x * x.transpose();
    }
    const Eigen::VectorXd w = a.ldlt().solve(b);
    EXPECT_LT((p.beta() - w.head(k)).norm(), 1e-8);
    for (std::uint32_t arm = 0; arm < arms; ++arm) {
        const auto direct = arm_a[arm].inverse();
        EXPECT_LT((p.arm(arm).a_inv - direct).norm() / direct.norm(), 1e-8) << arm;
        EXPECT_LT((p.theta(arm) - w.segment(k + d * int(arm), d)).norm(), 1e-8) << arm;
    }
    for (int i = 0; i < k; ++i) z[i] = n(rng);
    for (int i = 0; i < d; ++i) x[i] = n(rng);
    const Eigen::VectorXd f = stack(1, z, x);
    const double direct_s = f.dot(a.ldlt().solve(f));
    EXPECT_NEAR(p.width(1, z, x), std::sqrt(direct_s), 1e-8 * std::sqrt(direct_s));
    EXPECT_NEAR(p.mean(1, z, x), f.dot(w), 1e-8);
}

TEST(hybrid_scorer, binds_candidates_and_does_not_sample) {
    hybrid_linucb<2, 2> p(2, {.alpha = 0.5});
    const std::vector<std::uint32_t> arms{0, 1};
    const std::vector<Eigen::Vector2d> z{{1, 0}, {1, 0}}, x{{0, 1}, {1, 1}};
    hybrid_scorer<2, 2> view(p, arms, z, x);
    EXPECT_FALSE(view.can_sample());
    double mean[2], bonus[2];
    view.score(mean, bonus);
    EXPECT_NEAR(bonus[1], 0.5 * p.width(1, z[1], x[1]), 1e-15);
}

}  // namespace
}  // namespace marquee::bandits
