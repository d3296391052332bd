// linear_ts: linear Thompson sampling (Agrawal & Goyal 2013): the posterior
// of theta is N(theta_hat, v^2 B^-1) with B = lambda I + sum x x'. A draw
// solves U z = eps against the Cholesky factor B = U'U (so z ~ N(0, B^-1)),
// O(d^2) per draw; the factor is rank-one updated with every reward, O(d^2).
// Seedable and platform-independent (normal_source over splitmix64).
// Not thread-safe: one writer; readers sample from a const copy.
#pragma once

#include <Eigen/Core>
#include <span>

#include "bandits/gaussian.h"
#include "bandits/ridge_model.h"
#include "bandits/scorer.h"

namespace marquee::bandits {

struct linear_ts_options {
    // B starts as lambda * I. Default: 1.0.
    double lambda = 1.0;
    // Posterior scale v. The paper's v = R sqrt(24 d ln(1/delta) / epsilon)
    // is a worst-case bound far too wide in practice; it is tuned like
    // LinUCB's alpha. Default: 0.5 (LinUCB's alpha default).
    double v = 0.5;
};

template <int Dim>
class linear_ts {
public:
    using vector = typename ridge_model<Dim>::vector;

    // `dim` is ignored unless Dim is Eigen::Dynamic.
    explicit linear_ts(linear_ts_options options = {}, int dim = Dim)
        : options_(options), model_(ridge_options{.lambda = options.lambda, .track_cholesky = true}, dim) {}

    template <class V>
    void update(const V& x, double reward) {
        model_.update(x, reward);
    }
    template <class V>
    double mean(const V& x) const {
        return model_.mean(x);
    }

    // theta ~ N(theta_hat, v^2 B^-1), written to `out` (size dim()).
    template <class Out>
    void sample_theta(normal_source& normal, Out& out) const {
        draw_theta(model_, options_.v, normal, out);
    }

    // The same draw for any ridge_model that tracks its Cholesky factor.
    template <class Out>
    static void draw_theta(const ridge_model<Dim>& m, double v, normal_source& normal, Out& out) {
        for (int i = 0; i < m.dim(); ++i) out[i] = normal();
        // B = L L': z = L'^-1 eps has covariance L'^-1 L^-1 = B^-1.
        m.cholesky_factor().template triangularView<Eigen::Lower>().transpose().solveInPlace(out);
        out = m.theta() + v * out;
    }

    int dim() const { return model_.dim(); }
    const ridge_model<Dim>& model() const { return model_; }
    const linear_ts_options& options() const { return options_; }

private:
    linear_ts_options options_;
    ridge_model<Dim> model_;
};

// A ridge_model bound to candidate vectors: LinUCB's mean and bonus
// (alpha * sqrt(x' A^-1 x)), and, when the model tracks its Cholesky factor,
// Thompson draws with scale v. Serves both LinUCB and linear TS at any Dim.
template <int Dim>
class ridge_scorer final : public scorer {
public:
    using vector = typename ridge_model<Dim>::vector;

    ridge_scorer(const ridge_model<Dim>& model, std::span<const vector> candidates, double alpha, double v)
        : model_(model), candidates_(candidates), alpha_(alpha), v_(v), theta_(model.dim()),
          scratch_(model.dim()) {}
    ridge_scorer(const linear_ts<Dim>& ts, std::span<const vector> candidates)
        : ridge_scorer(ts.model(), candidates, ts.options().v, ts.options().v) {}

    std::size_t size() const override { return candidates_.size(); }
    void score(std::span<double> mean, std::span<double> bonus) const override {
        for (std::size_t i = 0; i < candidates_.size(); ++i) {
            mean[i] = model_.mean(candidates_[i]);
            bonus[i] = alpha_ * model_.width(candidates_[i], scratch_);
        }
    }
    bool can_sample() const override { return model_.options().track_cholesky; }
    void sample(std::span<double> out, normal_source& normal) const override {
        linear_ts<Dim>::draw_theta(model_, v_, normal, theta_);
        for (std::size_t i = 0; i < candidates_.size(); ++i) out[i] = theta_.dot(candidates_[i]);
    }

private:
    const ridge_model<Dim>& model_;
    std::span<const vector> candidates_;
    double alpha_, v_;
    // Scratch allocated once per view, so Dynamic sizes do not allocate per call.
    mutable vector theta_, scratch_;
};

}  // namespace marquee::bandits
