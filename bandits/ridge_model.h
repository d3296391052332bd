// ridge_model: the sufficient statistics of Bayesian linear regression
// (A = lambda I + sum x x', b = lambda prior + sum r x) that LinUCB and linear
// Thompson sampling share. A^-1 is kept by Sherman-Morrison, O(d^2) per
// reward; optionally the Cholesky factor of A is kept too, by a rank-one
// update (Eigen LLT::rankUpdate, also O(d^2)), so posterior draws need only a
// triangular solve. Dim is a compile-time size (the 8-dim production path is
// allocation-free) or Eigen::Dynamic (for benchmarks at d = 32/64).
// Not thread-safe: one writer; readers score a copy.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace marquee::bandits {

struct ridge_options {
    // A starts as lambda * I. Default: 1.0.
    double lambda = 1.0;
    // Keep the Cholesky factor of A (needed for posterior draws). Default: false.
    bool track_cholesky = false;
};

template <int Dim>
class ridge_model {
public:
    using vector = Eigen::Matrix<double, Dim, 1>;
    using matrix = Eigen::Matrix<double, Dim, Dim>;

    // `dim` is ignored unless Dim is Eigen::Dynamic. The prior mean is zero.
    explicit ridge_model(ridge_options options = {}, int dim = Dim)
        : ridge_model(options, vector::Zero(Dim == Eigen::Dynamic ? dim : Dim)) {}

    // Prior mean `prior` (b starts as lambda * prior), so an untrained model
    // predicts prior . x.
    ridge_model(ridge_options options, const vector& prior) : options_(options) {
        const auto d = prior.size();
        a_inv_ = matrix::Identity(d, d) / options_.lambda;
        b_ = options_.lambda * prior;
        theta_ = prior;
        ax_.resize(d);
        if (options_.track_cholesky) llt_.compute(matrix::Identity(d, d) * options_.lambda);
    }

    // Restores a model from A (not A^-1) and b, e.g. read back from storage:
    // A^-1 and the Cholesky factor are recomputed from A, O(d^3) once.
    ridge_model(ridge_options options, const matrix& a, const vector& b, std::uint64_t updates)
        : options_(options), b_(b), updates_(updates) {
        const auto d = b.size();
        Eigen::LLT<matrix> llt(a);
        a_inv_ = llt.solve(matrix::Identity(d, d));
        theta_ = a_inv_ * b_;
        ax_.resize(d);
        if (options_.track_cholesky) llt_ = std::move(llt);
    }

    int dim() const { return int(theta_.size()); }

    // theta . x: the posterior mean reward.
    template <class V>
    double mean(const V& x) const {
        return theta_.dot(x);
    }
    // sqrt(x' A^-1 x): the posterior standard deviation of theta . x in units
    // of the noise scale. Allocation-free for fixed Dim; for Dynamic, passing
    // a scratch vector of size dim() avoids the temporary.
    template <class V>
    double width(const V& x) const {
        // x' A^-1 x >= 0 in exact arithmetic; clamp rounding noise.
        return std::sqrt(std::max(0.0, x.dot(a_inv_ * x)));
    }
    template <class V, class S>
    double width(const V& x, S& scratch) const {
        scratch.noalias() = a_inv_ * x;
        return std::sqrt(std::max(0.0, x.dot(scratch)));
    }

    template <class V>
    void update(const V& x, double reward) {
        // Sherman-Morrison: (A + x x')^-1 = A^-1 - (A^-1 x)(A^-1 x)' / (1 + x' A^-1 x),
        // using the symmetry of A^-1.
        ax_.noalias() = a_inv_ * x;
        a_inv_.noalias() -= (ax_ * ax_.transpose()) / (1.0 + x.dot(ax_));
        b_ += reward * x;
        theta_.noalias() = a_inv_ * b_;
        if (options_.track_cholesky) llt_.rankUpdate(x, 1.0);
        ++updates_;
    }

    const matrix& a_inverse() const { return a_inv_; }
    const vector& b() const { return b_; }
    const vector& theta() const { return theta_; }
    // Cholesky factor of A (valid only with track_cholesky).
    const Eigen::LLT<matrix>& cholesky() const { return llt_; }
    std::uint64_t updates() const { return updates_; }
    const ridge_options& options() const { return options_; }

private:
    ridge_options options_;
    matrix a_inv_;
    vector b_;
    vector theta_;
    vector ax_;  // scratch of update(), kept to avoid an allocation for Dynamic
    Eigen::LLT<matrix> llt_;
    std::uint64_t updates_ = 0;
};

}  // namespace marquee::bandits
