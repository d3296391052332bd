// hybrid_linucb: LinUCB with shared and per-arm coefficients (Li et al. 2010,
// Algorithm 2): reward = z' beta + x' theta_a, z shared features (K), x
// per-arm features (D). A_a^-1 is kept by Sherman-Morrison; A0 (K x K) is
// not a rank-one update, so it is kept explicitly and re-factored by LLT
// after each reward, O(K^3) (K is small). Not thread-safe: one writer.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "bandits/scorer.h"

namespace marquee::bandits {

struct hybrid_linucb_options {
    // Width of the confidence bonus. Default: 0.5.
    double alpha = 0.5;
    // A0 and every A_a start as lambda * I (the paper uses 1). Default: 1.0.
    double lambda = 1.0;
};

template <int K, int D>
class hybrid_linucb {
public:
    using shared_vector = Eigen::Matrix<double, K, 1>;
    using arm_vector = Eigen::Matrix<double, D, 1>;
    using shared_matrix = Eigen::Matrix<double, K, K>;
    using arm_matrix = Eigen::Matrix<double, D, D>;
    using cross_matrix = Eigen::Matrix<double, D, K>;

    struct arm_state {
        arm_matrix a_inv;  // A_a^-1
        cross_matrix b_cross;  // B_a
        arm_vector b;      // b_a
    };

    explicit hybrid_linucb(std::size_t arms, hybrid_linucb_options options = {}) : options_(options) {
        a0_ = shared_matrix::Identity() * options_.lambda;
        b0_.setZero();
        refresh_shared();
        add_arms(arms);
    }

    void add_arms(std::size_t n) {
        arms_.reserve(arms_.size() + n);
        for (std::size_t i = 0; i < n; ++i)
            arms_.push_back({arm_matrix::Identity() / options_.lambda, cross_matrix::Zero(), arm_vector::Zero()});
    }
    std::size_t arms() const { return arms_.size(); }

    // theta_a = A_a^-1 (b_a - B_a beta).
    arm_vector theta(std::uint32_t a) const {
        const auto& s = arms_[a];
        return s.a_inv * (s.b - s.b_cross * beta_);
    }
    double mean(std::uint32_t a, const shared_vector& z, const arm_vector& x) const {
        return z.dot(beta_) + x.dot(theta(a));
    }
    // s = z'A0^-1 z - 2 z'A0^-1 B'A^-1 x + x'A^-1 x + x'A^-1 B A0^-1 B'A^-1 x.
    double width(std::uint32_t a, const shared_vector& z, const arm_vector& x) const {
        const auto& s = arms_[a];
        const arm_vector ax = s.a_inv * x;
        const shared_vector bax = s.b_cross.transpose() * ax;  // B'A^-1 x
        const shared_vector a0z = a0_inv_ * z;
        const double v = z.dot(a0z) - 2.0 * bax.dot(a0z) + x.dot(ax) + bax.dot(a0_inv_ * bax);
        return std::sqrt(std::max(0.0, v));
    }
    double score(std::uint32_t a, const shared_vector& z, const arm_vector& x) const {
        return mean(a, z, x) + options_.alpha * width(a, z, x);
    }

    void update(std::uint32_t a, const shared_vector& z, const arm_vector& x, double reward) {
        auto& s = arms_[a];
        // Take the arm's old contribution out of the shared system ...
        cross_matrix ab = s.a_inv * s.b_cross;
        a0_.noalias() += s.b_cross.transpose() * ab;
        b0_.noalias() += s.b_cross.transpose() * (s.a_inv * s.b);
        // ... update the arm (Sherman-Morrison for A_a^-1) ...
        const arm_vector ax = s.a_inv * x;
        s.a_inv.noalias() -= (ax * ax.transpose()) / (1.0 + x.dot(ax));
        s.b_cross.noalias() += x * z.transpose();
        s.b += reward * x;
        // ... and put its new contribution back, with the shared features.
        ab.noalias() = s.a_inv * s.b_cross;
        a0_.noalias() += z * z.transpose() - s.b_cross.transpose() * ab;
        b0_.noalias() += reward * z - s.b_cross.transpose() * (s.a_inv * s.b);
        refresh_shared();
        ++updates_;
    }

    const shared_matrix& a0() const { return a0_; }
    const shared_matrix& a0_inverse() const { return a0_inv_; }
    const shared_vector& b0() const { return b0_; }
    const shared_vector& beta() const { return beta_; }
    const arm_state& arm(std::uint32_t a) const { return arms_[a]; }
    std::uint64_t updates() const { return updates_; }
    const hybrid_linucb_options& options() const { return options_; }

private:
    void refresh_shared() {
        // A0 is symmetric positive definite (a Schur complement of the full
        // ridge system), so LLT is stable; symmetrise against rounding first.
        a0_ = 0.5 * (a0_ + a0_.transpose()).eval();
        Eigen::LLT<shared_matrix> llt(a0_);
        a0_inv_ = llt.solve(shared_matrix::Identity());
        beta_ = llt.solve(b0_);
    }

    hybrid_linucb_options options_;
    shared_matrix a0_, a0_inv_;
    shared_vector b0_, beta_;
    std::vector<arm_state> arms_;
    std::uint64_t updates_ = 0;
};

// Binds candidates (arm id, shared features z, arm features x) to a
// hybrid_linucb. UCB only: the joint posterior is not sampled.
template <int K, int D>
class hybrid_scorer final : public scorer {
public:
    using policy = hybrid_linucb<K, D>;

    hybrid_scorer(const policy& p, std::span<const std::uint32_t> arms,
                  std::span<const typename policy::shared_vector> shared,
                  std::span<const typename policy::arm_vector> per_arm)
        : policy_(p), arms_(arms), shared_(shared), per_arm_(per_arm) {}

    std::size_t size() const override { return arms_.size(); }
    void score(std::span<double> mean, std::span<double> bonus) const override {
        for (std::size_t i = 0; i < arms_.size(); ++i) {
            mean[i] = policy_.mean(arms_[i], shared_[i], per_arm_[i]);
            bonus[i] = policy_.options().alpha * policy_.width(arms_[i], shared_[i], per_arm_[i]);
        }
    }

private:
    const policy& policy_;
    std::span<const std::uint32_t> arms_;
    std::span<const typename policy::shared_vector> shared_;
    std::span<const typename policy::arm_vector> per_arm_;
};

}  // namespace marquee::bandits
