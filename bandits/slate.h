// choose_slate: fill k slots from scored candidates, epsilon-greedy over
// LinUCB scores, and report each pick's exact propensity. Pure and seeded:
// the same (policy, candidates, seed) always gives the same slate.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bandits/features.h"
#include "bandits/linucb_policy.h"

namespace marquee::bandits {

struct slate_options {
    // Slots to fill (fewer if there are fewer candidates). Default: 10.
    int k = 10;
    // Per-slot probability of a uniformly random remaining candidate instead
    // of the UCB argmax; keeps every candidate's propensity > 0 for
    // off-policy evaluation. Default: 0.05.
    double epsilon = 0.05;
};

struct slot {
    std::uint32_t candidate = 0;  // index into the candidates span
    double score = 0.0;           // UCB score
    double expected = 0.0;        // theta . x, the exploit-only estimate
    // P(this candidate fills this slot | the slots before it):
    // (1 - epsilon) * [it is the UCB argmax] + epsilon / remaining.
    double propensity = 0.0;
    // True when a pure exploit ranking would not have put it here: it won
    // by its uncertainty bonus or by the epsilon draw.
    bool explored = false;
};

std::vector<slot> choose_slate(const linucb_policy& policy, std::span<const feature_vector> candidates,
                               const slate_options& options, std::uint64_t seed);

}  // namespace marquee::bandits
