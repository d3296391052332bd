// linucb_policy: a linear UCB model over bandits::feature_vector (Li et al.
// 2010, shared-parameter form): score = theta.x + alpha * sqrt(x' A^-1 x).
// A^-1 is kept by Sherman-Morrison rank-one updates, O(d^2) per reward.
// Not thread-safe: the ingest thread updates; serving scores a copy.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <string_view>

#include "bandits/features.h"
#include "core/result.h"

namespace marquee::bandits {

struct linucb_options {
    // Width of the confidence bonus. Default: 0.5.
    double alpha = 0.5;
    // Ridge prior: A starts as lambda * I. Default: 1.0.
    double lambda = 1.0;
    // Prior mean of theta (b starts as lambda * prior), so an untrained
    // policy ranks by embedding affinity and popularity instead of by the
    // bonus alone. Default: affinity 0.25, popularity 0.3, new release 0.05.
    feature_vector prior = default_prior();

    static feature_vector default_prior() {
        feature_vector p = feature_vector::Zero();
        p[1] = 0.25;
        p[2] = 0.3;
        p[3] = 0.05;
        return p;
    }
};

class linucb_policy {
public:
    using matrix = Eigen::Matrix<double, feature_dim, feature_dim>;

    explicit linucb_policy(linucb_options options = {});

    double expected_reward(const feature_vector& x) const { return theta_.dot(x); }
    double bonus(const feature_vector& x) const;
    double score(const feature_vector& x) const { return expected_reward(x) + bonus(x); }

    // False, and the model unchanged, when x or the reward is not finite:
    // one NaN would spread to every entry of A^-1 and theta for good.
    bool update(const feature_vector& x, double reward);

    const matrix& a_inverse() const { return a_inv_; }
    const feature_vector& theta() const { return theta_; }
    std::uint64_t updates() const { return updates_; }
    const linucb_options& options() const { return options_; }

    // Versioned binary form, for the state store. A model of another
    // feature map fails with reason "feature_map_changed".
    std::string serialize() const;
    static core::result<linucb_policy> deserialize(std::string_view bytes, linucb_options options);

private:
    linucb_options options_;
    matrix a_inv_;
    feature_vector b_;
    feature_vector theta_;
    std::uint64_t updates_ = 0;
};

}  // namespace marquee::bandits
