// Online matrix factorisation for implicit feedback: one SGD step per event
// on the logistic loss of (user . item), plus sampled negatives, in the style
// of Rendle & Freudenthaler (2014) / He et al. (2016, eALS's online setting).
// Pure functions, no I/O; deterministic given the same inputs.
#pragma once

#include <Eigen/Core>

#include "events/event.h"

namespace marquee::online_models {

struct mf_options {
    // Embedding dimension. Default: 32.
    int dim = 32;
    // SGD learning rate. Default: 0.05.
    float learning_rate = 0.05f;
    // L2 regularisation on both vectors. Default: 0.01.
    float l2 = 0.01f;
    // Sampled negative items per positive event. Default: 2.
    int negatives = 2;
    // Standard deviation of new item vectors (users start at zero). Default: 0.1.
    float init_scale = 0.1f;
    // Seed for initial vectors and negative sampling. Default: 42.
    std::uint64_t seed = 42;
    // Reserve the last dimension for an item bias: users hold a constant 1
    // there (never updated), so item[dim-1] learns how likely the item is
    // to be consumed by anyone (Koren, Bell & Volinsky 2009's b_i, folded
    // into the dot product so retrieval stays one mat-vec). Default: true.
    bool item_bias = true;
};

// The vector a user starts from: zeros, with the bias slot set to 1.
void init_user(float* out, const mf_options& options);

// What an event says about (user, item): a 0/1 target and how much to trust it.
struct feedback {
    float target = 0.0f;
    float weight = 0.0f;  // 0: no model update
};

// Maps an event to feedback: watch -> fraction watched, like -> 1,
// dislike -> negative, rating -> centred at 2.5 stars, click -> weak
// positive, skip -> weak negative, impression -> none.
feedback to_feedback(const events::event& e);

// The largest norm sgd_step leaves a vector with (the user's without its bias
// slot). Far above what learning reaches (under 2 on MovieLens at the
// defaults, `evaluate prequential`); it keeps a divergent learning rate
// finite, and every component inside binary16's range, which retrieval's
// copy of the item vectors uses.
inline constexpr float max_vector_norm = 100.0f;

// One weighted SGD step on log-loss of sigmoid(u.v) against `target`;
// updates both vectors in place (the user step uses the old item vector),
// then scales either back to max_vector_norm if it went beyond.
// With options.item_bias the user's last component is held fixed.
// Returns the prediction before the step.
float sgd_step(Eigen::Ref<Eigen::VectorXf> user, Eigen::Ref<Eigen::VectorXf> item, float target,
               float weight, const mf_options& options);

// The loss sgd_step descends, for gradient checks.
float weighted_log_loss(const Eigen::VectorXf& user, const Eigen::VectorXf& item, float target,
                        float weight, float l2);

}  // namespace marquee::online_models
