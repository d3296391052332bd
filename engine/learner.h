// learner: applies one validated event to the model, the event's user and,
// for rewards, the decision it answers. Pure and deterministic: the same
// events in the same order give bit-identical state. Records what it touched
// so the caller persists exactly that, in the same write as the offsets.
#pragma once

#include <boost/unordered/unordered_flat_set.hpp>
#include <chrono>
#include <cstdint>

#include "engine/model.h"
#include "engine/pending_decision.h"
#include "engine/user_state.h"
#include "events/event.h"

namespace marquee::engine {

// What a batch changed beyond its users (which the caller tracks itself).
struct touched {
    // Rows whose vector, statistics or co-visitation neighbours changed.
    boost::unordered_flat_set<std::uint32_t> item_rows;
    bool bandit = false;
    void clear() {
        item_rows.clear();
        bandit = false;
    }
};

// When rewards count: the reward window and the default reward.
struct reward_options {
    // A positive response (click, like, a watch of at least watch_fraction)
    // to an item shown within this window answers that decision even
    // without its decision_id; when the window closes, the shown items that
    // got no reward get default_reward and the decision is forgotten.
    // Default: 10 minutes.
    std::chrono::milliseconds window{600'000};
    // A window closes once the stream has been applied past it (event
    // time), so a lagging consumer does not default-reward decisions whose
    // clicks are still in Kafka; but at the latest this long after serving
    // (wall clock), for streams that go quiet. At least `window`.
    // Default: 1 hour.
    std::chrono::milliseconds decision_ttl{3'600'000};
    // Default: 0.
    double default_reward = 0.0;
    // Default: 0.5.
    double watch_fraction = 0.5;
};

// True for the events that count as a positive response to a shown item.
bool is_positive_response(const events::event& e, const reward_options& options);

// What a reward event did to its decision.
// rejected: the bandit refused the shown item's logged features (not
// finite); the model is unchanged and the item stays unrewarded.
enum class reward_outcome { none, applied, unknown_item, already_rewarded, stale_features, rejected };

// Reward for a shown item from the event that answers it: click, like -> 1,
// watch -> fraction watched, rating -> stars / 5, dislike, skip -> 0.
// Impressions are not rewards (nullopt).
std::optional<double> reward_of(const events::event& e);

class learner {
public:
    explicit learner(model& m) : model_(m) {}

    // `decision` is the pending decision e answers (named by e.decision_id,
    // or matched in the reward window), if any.
    reward_outcome apply(const events::event& e, user_state& user, pending_decision* decision,
                         touched& out);

private:
    reward_outcome reward_decision(const events::event& e, pending_decision* decision, touched& out);
    void update_covisitation(const user_state& user, std::uint32_t row, float weight, touched& out);
    void update_embeddings(const events::event& e, user_state& user, std::uint32_t row, touched& out);

    model& model_;
};

}  // namespace marquee::engine
