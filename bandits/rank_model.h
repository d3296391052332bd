// rank_model: the linear model behind POST /v1/rank: a ridge regression over
// hashed named features (bandits/hashed_features.h) plus a few signals
// Marquee knows for catalog items, served by any policy_kind through
// fill_slate (LinUCB bonus or Thompson draws: it tracks its Cholesky factor).
// Candidates stay sparse (a few dozen non-zeros of 2^bits + 4), so scoring
// costs O(nnz^2) per candidate instead of ridge_scorer's O(d^2) (same
// numbers; a test compares them); an update is one O(d^2) rank-one step.
// Not thread-safe: callers serialise access (serve::rank_service holds a mutex).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bandits/hashed_features.h"
#include "bandits/ridge_model.h"
#include "bandits/slate.h"
#include "core/result.h"

namespace marquee::bandits {

struct rank_model_options {
    // Hashed space 2^bits; the model has 2^bits + known_dim weights, so an
    // update costs O(d^2) time and a checkpoint 4 d^2 bytes. Default: 8.
    int bits = 8;
    // Ridge prior: A starts as lambda * I. Default: 1.0.
    double lambda = 1.0;
    // LinUCB confidence width. Default: 0.5.
    double alpha = 0.5;
    // Thompson posterior scale. Default: 0.5.
    double v = 0.5;

    hashing_options hashing() const { return {.bits = bits, .interactions = true}; }
};

// What Marquee knows about a candidate whose id is in the catalog, appended
// after the hashed features (all zero for an unknown id).
struct known_signals {
    bool known = false;
    double affinity = 0.0;    // user . item embedding, clamped to [-4, 4], / 4
    double popularity = 0.0;  // decayed popularity in [0, 1]
    double recency = 0.0;     // exp(-age / 30 days)
};
inline constexpr int known_dim = 4;

// A model input: non-zeros sorted by index, each index once.
using sparse_x = std::vector<hashed_feature>;

class rank_model {
public:
    using vector = Eigen::VectorXd;

    explicit rank_model(rank_model_options options = {});

    int dim() const { return model_.dim(); }
    // x: the hashed features, then known (flag, affinity, popularity, recency).
    void encode(std::span<const hashed_feature> hashed, const known_signals& known, sparse_x& out) const;
    vector dense(const sparse_x& x) const;

    double mean(const sparse_x& x) const;
    // sqrt(x' A^-1 x), O(nnz^2).
    double width(const sparse_x& x) const;
    // O(d^2): Sherman-Morrison, the Cholesky rank-one update, and A itself
    // (kept so serialize() costs no O(d^3) reconstruction). Refuses (false,
    // model unchanged) a non-finite reward or x, or an x so large that x'x
    // overflows: one such update would put inf/NaN into A^-1 and theta, so
    // into every later score and checkpoint.
    [[nodiscard]] bool update(const sparse_x& x, double reward);
    // Undoes the latest update(x, reward) (e.g. when persisting it failed):
    // rebuilt from A and b, O(d^3), so only for the rare failure path.
    void revert(const sparse_x& x, double reward);

    // k slots (options.k) from `candidates` under options.policy, with
    // propensities (see bandits/slate.h).
    std::vector<slot> choose(std::span<const sparse_x> candidates, const slate_options& options,
                             std::uint64_t seed) const;

    std::uint64_t updates() const { return model_.updates(); }
    const ridge_model<Eigen::Dynamic>& ridge() const { return model_; }
    const rank_model_options& options() const { return options_; }

    // Versioned binary form (A's upper triangle and b), for the state store.
    std::string serialize() const;
    // Fails ("config") when the bytes were written with another `bits`, and
    // ("non_finite") when they hold a NaN or infinity (written before update()
    // refused such inputs): such a model scores every candidate NaN.
    static core::result<rank_model> deserialize(std::string_view bytes, rank_model_options options);

private:
    rank_model(rank_model_options options, ridge_model<Eigen::Dynamic> model, ridge_model<Eigen::Dynamic>::matrix a);
    rank_model_options options_;
    ridge_model<Eigen::Dynamic> model_;
    ridge_model<Eigen::Dynamic>::matrix a_;  // lambda I + sum x x'
    mutable vector scratch_;                 // dense x for update()
};

}  // namespace marquee::bandits
