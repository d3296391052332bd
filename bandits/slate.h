// choose_slate / fill_slate: fill k slots from scored candidates with any
// policy_kind over any scorer, under diversity caps, new-release exploration
// weights and exposure-floor insertions, and report each pick's propensity.
// Pure and seeded: the same (model, candidates, options, seed) always gives
// the same slate. Propensities (P of this pick | the slots before it):
//   ucb, epsilon_greedy  (1 - eps) [argmax] + eps / eligible      exact
//   greedy               [argmax]                                  exact (1)
//   uniform              1 / eligible                              exact
//   thompson             (1 - eps) p_hat + eps / eligible          estimated
// where eligible is the remaining candidates the genre cap allows. For
// Thompson sampling each slot is chosen by a fresh posterior draw, so its
// probability p is the chance that candidate wins one draw; p_hat = wins in
// M further independent draws (shared by all slots of the slate, independent
// of the choosing draws) / M, unbiased with variance p (1 - p) / M (reported
// as propensity_se). Its inverse, the importance weight, is not unbiased:
// E[1 / p_hat] > 1 / p, by far when p M is small (p = 0.005, M = 128,
// eps = 0.05, 500 eligible: 26x), since a pick that wins none of the draws
// gets eps / eligible. No estimator from a fixed number of draws can be
// unbiased for 1 / p; off-policy evaluation of Thompson logs should use
// SNIPS or clipped weights, or log with an exact policy. With epsilon = 0 a
// pick that wins none of the M draws gets 1 / M so weights stay finite.
// Exposure-floor insertions are deterministic: propensity 1, forced = true.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bandits/diversity.h"
#include "bandits/exposure_floor.h"
#include "bandits/features.h"
#include "bandits/linucb_policy.h"
#include "bandits/policy_kind.h"
#include "bandits/scorer.h"

namespace marquee::bandits {

struct new_release_options {
    // Multiplies the exploration term (UCB bonus, Thompson deviation from
    // the mean) of new releases, so fresh items are explored harder. Default: 1.
    double exploration_weight = 1.0;
    // Only items at most this old get the weight. Default: 30 days.
    double max_age_days = 30.0;
};

struct slate_options {
    // Slots to fill (fewer if there are fewer candidates). Default: 10.
    int k = 10;
    // Per-slot probability of a uniformly random eligible candidate instead
    // of the policy's pick (ucb, thompson, epsilon_greedy); keeps every
    // candidate's propensity > 0 for off-policy evaluation. Default: 0.05.
    double epsilon = 0.05;
    // How scores become picks. Default: ucb.
    policy_kind policy = policy_kind::ucb;
    // M, the posterior draws behind each Thompson propensity. Default: 128.
    int thompson_propensity_draws = 128;
    new_release_options new_release;
    diversity_options diversity;
};

// What the filler knows about a candidate beyond its model scores.
struct candidate_meta {
    genre_mask genres = 0;
    bool new_release = false;
    double age_days = 1e9;
};

// Meta from the production feature map: new-release flag (feature 3) and
// age recovered from recency exp(-age / 30 d) (feature 4).
candidate_meta meta_from_features(const feature_vector& x, genre_mask genres = 0);

struct slot {
    std::uint32_t candidate = 0;  // index into the candidates span
    double score = 0.0;           // what the policy ranked by (UCB, mean, or the draw)
    double expected = 0.0;        // the exploit-only estimate (posterior mean)
    // P(this candidate fills this slot | the slots before it); see above.
    double propensity = 0.0;
    // Standard error of an estimated (Thompson) propensity; 0 when exact.
    double propensity_se = 0.0;
    // True when a pure exploit ranking over the eligible candidates (the
    // means, MMR-adjusted like the slot's ranking) would not have put it
    // here: it won by exploration (bonus, draw or epsilon).
    bool explored = false;
    // Inserted by the exposure floor, not chosen by the policy.
    bool forced = false;
};

struct slate_inputs {
    // Empty, or one per candidate (genres, new-release flag, age).
    std::span<const candidate_meta> meta;
    // Exposure-floor insertions; a slot beyond the slate or a candidate out
    // of range is ignored.
    std::span<const forced_slot> forced;
    std::uint64_t seed = 0;
};

// Reusable scratch, so a serving thread that keeps one allocates nothing
// per request once it has grown to the largest request.
struct slate_workspace {
    std::vector<double> mean, bonus, ucb, draw, draws, penalty, weight;
    std::vector<std::uint32_t> remaining, eligible;
    std::vector<std::uint8_t> is_eligible;
    std::vector<std::uint32_t> draw_best;  // per propensity draw: its argmax over the eligible set
};

// Fills `out` (cleared first). Throws std::invalid_argument for thompson
// with a scorer that cannot sample.
void fill_slate(const scorer& model, const slate_options& options, const slate_inputs& inputs,
                slate_workspace& workspace, std::vector<slot>& out);
std::vector<slot> fill_slate(const scorer& model, const slate_options& options, const slate_inputs& inputs);

// P(candidate i fills the first slot) for every candidate: exact, or for
// thompson the resampling estimate (sums to 1 exactly). For tests and
// off-policy evaluation of a whole action distribution.
std::vector<double> first_slot_distribution(const scorer& model, const slate_options& options,
                                            const slate_inputs& inputs);

// The production LinUCB model bound to feature vectors. Thompson draws use
// its posterior N(theta, v^2 A^-1), v = ts_v (default: the policy's alpha).
class linucb_scorer final : public scorer {
public:
    linucb_scorer(const linucb_policy& policy, std::span<const feature_vector> candidates, double ts_v = -1.0);
    std::size_t size() const override { return candidates_.size(); }
    void score(std::span<double> mean, std::span<double> bonus) const override;
    bool can_sample() const override { return true; }
    void sample(std::span<double> out, normal_source& normal) const override;

private:
    const linucb_policy& policy_;
    std::span<const feature_vector> candidates_;
    double v_;
    mutable bool factored_ = false;
    mutable linucb_policy::matrix cov_factor_;  // L with A^-1 = L L', on first draw
};

// Shorthand for fill_slate over the production LinUCB model without meta
// or forced slots (engine::recommend calls fill_slate with both).
std::vector<slot> choose_slate(const linucb_policy& policy, std::span<const feature_vector> candidates,
                               const slate_options& options, std::uint64_t seed);

}  // namespace marquee::bandits
