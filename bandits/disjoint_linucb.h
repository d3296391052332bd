// disjoint_linucb: LinUCB with one ridge model per arm (Li et al. 2010,
// Algorithm 1), for small catalogs or fixed slots where arms do not share
// parameters: score = theta_a . x + alpha * sqrt(x' A_a^-1 x). Each A_a^-1
// is kept by Sherman-Morrison. Optionally Cholesky-tracked for per-arm TS.
// Not thread-safe: one writer; readers score a copy.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bandits/linear_ts.h"
#include "bandits/ridge_model.h"
#include "bandits/scorer.h"

namespace marquee::bandits {

struct disjoint_linucb_options {
    // Width of the confidence bonus. Default: 0.5.
    double alpha = 0.5;
    // Each arm's A starts as lambda * I. Default: 1.0.
    double lambda = 1.0;
    // Thompson posterior scale; > 0 also keeps each arm's Cholesky factor
    // so the policy can be sampled. Default: 0 (UCB only).
    double ts_v = 0.0;
};

template <int Dim>
class disjoint_linucb {
public:
    using vector = typename ridge_model<Dim>::vector;

    // `dim` is ignored unless Dim is Eigen::Dynamic.
    disjoint_linucb(std::size_t arms, disjoint_linucb_options options = {}, int dim = Dim)
        : options_(options), dim_(Dim == Eigen::Dynamic ? dim : Dim) {
        add_arms(arms);
    }

    // Arms are dense ids 0..arms()-1; new arms start at the prior.
    void add_arms(std::size_t n) {
        const ridge_options r{.lambda = options_.lambda, .track_cholesky = options_.ts_v > 0.0};
        arms_.reserve(arms_.size() + n);
        for (std::size_t i = 0; i < n; ++i) arms_.emplace_back(r, dim_);
    }
    std::size_t arms() const { return arms_.size(); }

    template <class V>
    double score(std::uint32_t arm, const V& x) const {
        return arms_[arm].mean(x) + options_.alpha * arms_[arm].width(x);
    }
    template <class V>
    void update(std::uint32_t arm, const V& x, double reward) {
        arms_[arm].update(x, reward);
    }

    const ridge_model<Dim>& arm(std::uint32_t a) const { return arms_[a]; }
    const disjoint_linucb_options& options() const { return options_; }

private:
    disjoint_linucb_options options_;
    int dim_;
    std::vector<ridge_model<Dim>> arms_;
};

// Binds candidates (arm id, context vector) to a disjoint_linucb. Thompson
// draws are independent per candidate, so the arms in one candidate set
// must be distinct (two candidates of one arm would need one shared draw).
template <int Dim>
class disjoint_scorer final : public scorer {
public:
    using vector = typename ridge_model<Dim>::vector;

    disjoint_scorer(const disjoint_linucb<Dim>& policy, std::span<const std::uint32_t> arms,
                    std::span<const vector> contexts)
        : policy_(policy), arms_(arms), contexts_(contexts), theta_(policy.arms() ? policy.arm(0).dim() : 0) {}

    std::size_t size() const override { return arms_.size(); }
    void score(std::span<double> mean, std::span<double> bonus) const override {
        for (std::size_t i = 0; i < arms_.size(); ++i) {
            const auto& m = policy_.arm(arms_[i]);
            mean[i] = m.mean(contexts_[i]);
            bonus[i] = policy_.options().alpha * m.width(contexts_[i]);
        }
    }
    bool can_sample() const override { return policy_.options().ts_v > 0.0; }
    void sample(std::span<double> out, normal_source& normal) const override {
        for (std::size_t i = 0; i < arms_.size(); ++i) {
            linear_ts<Dim>::draw_theta(policy_.arm(arms_[i]), policy_.options().ts_v, normal, theta_);
            out[i] = theta_.dot(contexts_[i]);
        }
    }

private:
    const disjoint_linucb<Dim>& policy_;
    std::span<const std::uint32_t> arms_;
    std::span<const vector> contexts_;
    mutable vector theta_;
};

}  // namespace marquee::bandits
