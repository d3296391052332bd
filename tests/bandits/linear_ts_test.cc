#include "bandits/linear_ts.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>

namespace marquee::bandits {
namespace {

TEST(normal_source, is_standard_normal_and_seeded) {
    normal_source a(5), b(5), c(6);
    const int n = 200000;
    double sum = 0, sum_sq = 0, sum_4 = 0;
    bool differs = false;
    for (int i = 0; i < n; ++i) {
        const double x = a();
        EXPECT_EQ(x, b());
        differs |= x != c();
        sum += x;
        sum_sq += x * x;
        sum_4 += x * x * x * x;
    }
    EXPECT_TRUE(differs);
    // Mean 0 (se 1/sqrt(n)), variance 1 (se sqrt(2/n)), kurtosis 3 (se ~ sqrt(96/n)).
    EXPECT_NEAR(sum / n, 0.0, 4.0 / std::sqrt(n));
    EXPECT_NEAR(sum_sq / n, 1.0, 4.0 * std::sqrt(2.0 / n));
    EXPECT_NEAR(sum_4 / n, 3.0, 4.0 * std::sqrt(96.0 / n));
}

TEST(linear_ts, matches_a_hand_computed_example) {
    linear_ts<2> ts({.lambda = 1.0, .v = 0.5});
    const Eigen::Vector2d x(1.0, 1.0);
    ts.update(x, 1.0);
    // B = I + x x' = [[2,1],[1,2]], B^-1 = [[2,-1],[-1,2]] / 3, f = x, theta = (1/3, 1/3).
    EXPECT_NEAR(ts.model().theta()[0], 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(ts.model().theta()[1], 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(ts.model().a_inverse()(0, 1), -1.0 / 3.0, 1e-12);
    // B = U'U with U = [[sqrt2, 1/sqrt2], [0, sqrt(3/2)]], so
    // U^-1 = [[1/sqrt2, -1/(2 sqrt(3/2))], [0, 1/sqrt(3/2)]].
    normal_source normal(99), replica(99);
    Eigen::Vector2d draw;
    ts.sample_theta(normal, draw);
    const double e0 = replica(), e1 = replica();
    const double s = std::sqrt(1.5);
    EXPECT_NEAR(draw[0], 1.0 / 3.0 + 0.5 * (e0 / std::sqrt(2.0) - e1 / (2.0 * s)), 1e-12);
    EXPECT_NEAR(draw[1], 1.0 / 3.0 + 0.5 * (e1 / s), 1e-12);
}

TEST(linear_ts, tracked_cholesky_and_inverse_match_direct_after_10k_updates) {
    constexpr int d = 16;
    linear_ts<Eigen::Dynamic> ts({.lambda = 2.0, .v = 1.0}, d);
    Eigen::MatrixXd b = 2.0 * Eigen::MatrixXd::Identity(d, d);
    Eigen::VectorXd f = Eigen::VectorXd::Zero(d);
    std::mt19937_64 rng(3);
    std::normal_distribution<double> n(0.0, 1.0);
    for (int t = 0; t < 10000; ++t) {
        Eigen::VectorXd x(d);
        for (int i = 0; i < d; ++i) x[i] = n(rng);
        const double r = n(rng);
        ts.update(x, r);
        b += x * x.transpose();
        f += r * x;
    }
    const Eigen::MatrixXd direct = b.inverse();
    EXPECT_LT((ts.model().a_inverse() - direct).norm() / direct.norm(), 1e-8);
    const Eigen::MatrixXd l = ts.model().cholesky_factor();
    EXPECT_TRUE(l.isLowerTriangular());
    EXPECT_LT((l * l.transpose() - b).norm() / b.norm(), 1e-10);
    EXPECT_LT((ts.model().theta() - direct * f).norm(), 1e-8);
}

TEST(linear_ts, posterior_draws_have_the_posterior_mean_and_covariance) {
    constexpr int d = 3;
    linear_ts<d> ts({.lambda = 1.0, .v = 0.7});
    std::mt19937_64 rng(11);
    std::normal_distribution<double> n(0.0, 1.0);
    for (int t = 0; t < 6; ++t) {
        Eigen::Vector3d x(n(rng), n(rng), n(rng));
        ts.update(x, n(rng));
    }
    const Eigen::Vector3d mu = ts.model().theta();
    const Eigen::Matrix3d sigma = 0.49 * ts.model().a_inverse();
    const int draws = 40000;
    normal_source normal(2024);
    Eigen::Vector3d sum = Eigen::Vector3d::Zero();
    Eigen::Matrix3d outer = Eigen::Matrix3d::Zero();
    Eigen::Vector3d theta;
    for (int i = 0; i < draws; ++i) {
        ts.sample_theta(normal, theta);
        sum += theta;
        outer += (theta - mu) * (theta - mu).transpose();
    }
    const Eigen::Vector3d mean = sum / draws;
    const Eigen::Matrix3d cov = outer / draws;
    for (int i = 0; i < d; ++i) {
        EXPECT_NEAR(mean[i], mu[i], 4.0 * std::sqrt(sigma(i, i) / draws)) << i;
        for (int j = 0; j < d; ++j) {
            // Var of a Gaussian sample covariance entry: (s_ii s_jj + s_ij^2) / N.
            const double se = std::sqrt((sigma(i, i) * sigma(j, j) + sigma(i, j) * sigma(i, j)) / draws);
            EXPECT_NEAR(cov(i, j), sigma(i, j), 4.5 * se) << i << "," << j;
        }
    }
}

TEST(ridge_scorer, scores_like_linucb_and_samples_like_ts) {
    linear_ts<4> ts({.lambda = 1.0, .v = 0.3});
    const Eigen::Vector4d a(1, 0, 0, 0), b(0, 1, 0, 0);
    for (int t = 0; t < 20; ++t) ts.update(a, 1.0);
    std::vector<Eigen::Vector4d> xs{a, b};
    ridge_scorer<4> view(ts, xs);
    double mean[2], bonus[2];
    view.score(mean, bonus);
    // Arm a: A = 21 on its axis, b = 20: mean 20/21, width sqrt(1/21).
    EXPECT_NEAR(mean[0], 20.0 / 21.0, 1e-12);
    EXPECT_NEAR(bonus[0], 0.3 * std::sqrt(1.0 / 21.0), 1e-12);
    EXPECT_NEAR(mean[1], 0.0, 1e-12);
    EXPECT_NEAR(bonus[1], 0.3, 1e-12);
    ASSERT_TRUE(view.can_sample());
    normal_source normal(1);
    double s[2];
    view.sample(s, normal);
    EXPECT_NE(s[0], mean[0]);
}

}  // namespace
}  // namespace marquee::bandits
