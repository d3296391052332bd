// recommend: candidate generation (embedding top-N, co-visitation neighbours
// of recent history, new releases, popular; never an unavailable item)
// followed by the bandit's slate choice (bandits/slate.h): the chosen policy,
// genre diversity, new-release exploration weight and exposure floor.
// Reads a model_snapshot, the user's state and, for the exposure floor, an
// exposure_tracker; no I/O and no writes (the caller records what it serves).
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bandits/slate.h"
#include "engine/exposure_tracker.h"
#include "engine/model_snapshot.h"
#include "engine/pending_decision.h"
#include "engine/user_state.h"

namespace marquee::engine {

// The candidate sources, as recommendation::source names them.
inline constexpr std::string_view source_embedding = "embedding", source_covisit = "covisit",
                                  source_new_release = "new_release", source_popular = "popular";
inline constexpr std::array<std::string_view, 4> candidate_sources = {source_embedding, source_covisit,
                                                                      source_new_release, source_popular};

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
    // Each new release should get this many impressions per hour (needs an
    // exposure_tracker); 0 disables. Default: 0.
    bandits::exposure_floor_options exposure_floor;
};

struct recommend_request {
    std::string_view user_id;
    int k = 10;
    std::string_view device;
    std::uint64_t seed = 0;  // exploration seed, e.g. a hash of the decision id
    std::int64_t now_ms = 0;  // wall clock, for the exposure floor
    // Per-request overrides of options.slate.policy and .epsilon ("explore").
    std::optional<bandits::policy_kind> policy;
    std::optional<double> epsilon;
    // Items never to return, besides what the user has already seen.
    std::span<const std::string> exclude;
    // Only items with at least one of these catalog genres; empty: any.
    std::span<const std::string> genres;
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
    bool new_release = false;
    bool forced = false;  // inserted by the exposure floor (propensity 1)
    bandits::feature_vector features;
};

struct recommendation_list {
    std::uint64_t model_version = 0;
    bandits::policy_kind policy = bandits::policy_kind::ucb;
    bool cold_start = false;  // no embedding for this user yet
    std::vector<recommendation> items;
    // The catalog rows of the new releases in `items`: what to record in an
    // exposure_tracker once the list is actually served.
    std::vector<std::uint32_t> new_release_rows;
};

// `user` is null for a user Marquee has never seen. With an `exposure`
// tracker the exposure floor applies; it is only read: a list that is not
// served (its decision could not be stored) must not count as impressions.
recommendation_list recommend(const model_snapshot& snapshot, const user_state* user,
                              const recommend_request& request, const recommend_options& options,
                              const exposure_tracker* exposure = nullptr);

// The pending decision to persist for a served list (for reward joins).
pending_decision to_pending(const recommendation_list& list, std::string_view user_id, std::int64_t now_ms);

}  // namespace marquee::engine
