// pending_decision: a served slate waiting for its rewards. Kept in the state
// store under its decision id so a reward can find the features it was
// scored with, however long after serving it arrives.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bandits/features.h"
#include "bandits/policy_kind.h"

namespace marquee::engine {

struct pending_decision {
    struct shown_item {
        std::string item_id;
        bandits::feature_vector features;
        double propensity = 0.0;
        bool rewarded = false;
    };
    std::string user_id;
    std::int64_t served_ms = 0;  // wall clock; the reward window runs from here
    bandits::policy_kind policy = bandits::policy_kind::ucb;
    // False when it was scored with another feature map (an older build):
    // its rewards cannot teach the current model and are ignored.
    bool features_current = true;
    std::vector<shown_item> items;
};

}  // namespace marquee::engine
