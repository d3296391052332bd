// recommend: candidate generation (embedding top-N, co-visitation neighbours
// of recent history, new releases, popular; never an unavailable item) followed by the bandit's slate choice. Pure: reads a model_snapshot and the
// user's state, touches no I/O, allocates only the result and small scratch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bandits/slate.h"
#include "engine/model_snapshot.h"
#include "engine/pending_decision.h"
#include "engine/user_state.h"

namespace marquee::engine {

struct recommend_options {
    // Candidates taken from the embedding dot product. Default: 100.
    int retrieval_n = 100;
    // Popular and new-release candidates added to them. Default: 20 each.
    int popular_n = 20;
    int new_release_n = 20;
    // Co-visitation candidates ("because you watched X"). Default: 20.
    int covisit_n = 20;
    // Most recent history items whose neighbours are expanded. Default: 10.
    int covisit_history_n = 10;
    bandits::slate_options slate;
};

struct recommend_request {
    std::string_view user_id;
    int k = 10;
    std::string_view device;
    std::uint64_t seed = 0;  // exploration seed, e.g. a hash of the decision id
};

struct recommendation {
    std::string item_id;
    std::string title;  // from the catalog; "" when unknown
    double score = 0.0;
    double propensity = 0.0;
    bool explored = false;
    // "embedding" | "because_you_watched:<item_id>" | "new_release" | "popular"
    std::string reason;
    // The candidate source alone, without ids: a bounded metric label.
    std::string_view source;  // "embedding" | "covisit" | "new_release" | "popular"
    bandits::feature_vector features;
};

struct recommendation_list {
    std::uint64_t model_version = 0;
    bool cold_start = false;  // no embedding for this user yet
    std::vector<recommendation> items;
};

// `user` is null for a user Marquee has never seen.
recommendation_list recommend(const model_snapshot& snapshot, const user_state* user,
                              const recommend_request& request, const recommend_options& options);

// The pending decision to persist for a served list (for reward joins).
pending_decision to_pending(const recommendation_list& list, std::string_view user_id, std::int64_t now_ms);

}  // namespace marquee::engine
