// ridge_model: the sufficient statistics of Bayesian linear regression
// (A = lambda I + sum x x', b = lambda prior + sum r x) that LinUCB and linear
// Thompson sampling share. A^-1 is kept by Sherman-Morrison, O(d^2) per
// reward; optionally the Cholesky factor of A is kept too, by a rank-one
// update (also O(d^2)), so posterior draws need only a triangular solve.
// Dim is a compile-time size or Eigen::Dynamic; updates allocate nothing
// either way once constructed.
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
        if (options_.track_cholesky) {
            l_ = matrix::Identity(d, d) * std::sqrt(options_.lambda);
            w_.resize(d);
        }
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
        if (options_.track_cholesky) {
            l_ = llt.matrixL();
            w_.resize(d);
        }
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
        // Scaling one factor keeps this a plain outer product: `(ax ax') / s`
        // is a temporary matrix, on the heap for Dynamic.
        const double scale = 1.0 / (1.0 + x.dot(ax_));
        a_inv_.noalias() -= ax_ * (scale * ax_).transpose();
        b_ += reward * x;
        theta_.noalias() = a_inv_ * b_;
        if (options_.track_cholesky) cholesky_add(x);
        ++updates_;
    }

    const matrix& a_inverse() const { return a_inv_; }
    const vector& b() const { return b_; }
    const vector& theta() const { return theta_; }
    // L with A = L L' (lower triangle; valid only with track_cholesky).
    const matrix& cholesky_factor() const { return l_; }
    std::uint64_t updates() const { return updates_; }
    const ridge_options& options() const { return options_; }

private:
    // L L' + x x' = L~ L~' by Givens-style rotations, column by column.
    // Eigen's LLT::rankUpdate does the same but allocates its work vector.
    template <class V>
    void cholesky_add(const V& x) {
        w_ = x;
        const auto d = l_.rows();
        for (Eigen::Index k = 0; k < d; ++k) {
            const double lkk = l_(k, k);
            const double r = std::sqrt(lkk * lkk + w_[k] * w_[k]);
            const double c = r / lkk, s = w_[k] / lkk;
            l_(k, k) = r;
            for (Eigen::Index i = k + 1; i < d; ++i) {
                l_(i, k) = (l_(i, k) + s * w_[i]) / c;
                w_[i] = c * w_[i] - s * l_(i, k);
            }
        }
    }

    ridge_options options_;
    matrix a_inv_;
    vector b_;
    vector theta_;
    vector ax_;  // scratch of update(), kept to avoid an allocation for Dynamic
    matrix l_;   // Cholesky factor of A, with track_cholesky
    vector w_;   // scratch of cholesky_add()
    std::uint64_t updates_ = 0;
};

}  // namespace marquee::bandits
