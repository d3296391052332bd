// rank_service: Personalizer-style ranking for any caller (POST /v1/rank)
// and its rewards. Lifecycle, as in rlclientlib's live_model:
//   (1) construct: loads the rank model from the store ("rank" family);
//   (2) rank(): scores the caller's candidates (hashed named features, plus
//       what the snapshot knows about catalog ids), fills k slots with the
//       chosen policy, records the decision in RocksDB and logs it to the
//       decisions topic before returning;
//   (3) reward(): updates the model at once and persists the model change
//       (a log record, or a full checkpoint every checkpoint_every rewards)
//       with the marked decision in one RocksDB write; a second reward for
//       the same item is a "duplicate" and is not applied again;
//   (4) close_windows(), every close_every on its own thread: decisions older
//       than the reward window give their unrewarded items the default
//       reward (persisted as rewards are) and are erased, in one write.
// Thread-safe: one mutex serialises all of it (the model is small).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "bandits/hashed_features.h"
#include "bandits/policy_kind.h"
#include "bandits/rank_model.h"
#include "core/message_sink.h"
#include "core/result.h"
#include "core/snapshot_cell.h"
#include "engine/model_snapshot.h"
#include "state/store.h"

namespace prometheus {
class Registry;
}

namespace marquee::serve {

struct rank_options {
    bandits::rank_model_options model;
    // Policy when the request names none. Default: linucb.
    bandits::policy_kind policy = bandits::policy_kind::ucb;
    // Per-slot uniform exploration when the request gives none. Default: 0.05.
    double epsilon = 0.05;
    // Most candidates per request. Default: 100.
    int max_candidates = 100;
    // Most hashed terms (numbers, strings, tags) in the context and in each
    // candidate; bounds the interaction cost. Default: 64.
    int max_features = 64;
    // Thompson propensity draws (see bandits/slate.h). Default: 64.
    int thompson_propensity_draws = 64;
    // Seed mixed into each decision's exploration seed. Default: 7.
    std::uint64_t seed = 7;
    // A reward is persisted as a small log record (x, reward) with its
    // decision; every this many rewards the whole model is written instead
    // (4 d^2 bytes) and the log cleared. Start-up replays the log. Default: 256.
    int checkpoint_every = 256;
    // A decision is kept this long for its rewards (wall clock from ranking);
    // then its unrewarded items get default_reward and it is forgotten.
    // The engine sets both from bandit.reward_window_ms / bandit.default_reward.
    // Default: 10 minutes, 0.
    std::chrono::milliseconds reward_window{600'000};
    double default_reward = 0.0;
    // How often the service's own thread closes windows; 0: never (the
    // owner calls close_windows). The engine sets 1 s. Default: 0.
    std::chrono::milliseconds close_every{0};
};

using bandits::max_feature_value;

struct rank_candidate {
    std::string id;
    std::vector<bandits::named_feature> features;
};

struct rank_request {
    std::string user_id;  // "" when the caller gives none
    std::vector<bandits::named_feature> context;
    std::vector<rank_candidate> candidates;
    int k = 1;
    std::optional<bandits::policy_kind> policy;
    std::optional<double> epsilon;
};

struct ranked_item {
    std::string id;
    double score = 0.0;
    double propensity = 0.0;
    bool explored = false;
};

// `[{"id", "score", "propensity", "explored"}, ...]`: the items of the
// POST /v1/rank answer and of its decision log record.
void append_ranked_items_json(std::string& out, std::span<const ranked_item> items);

struct rank_response {
    std::string decision_id;
    std::uint64_t model_version = 0;  // rewards applied to the rank model so far
    bandits::policy_kind policy = bandits::policy_kind::ucb;
    std::vector<ranked_item> items;
};

// rejected: the model refused the decision's stored x (non-finite: only a
// decision ranked before feature values were bounded can hold one); the
// model is unchanged and the item stays unrewarded. wrong_user: the reward
// names a user other than the one the decision was ranked for (a producer
// bug, or a forged id); not applied: that user's features were not shown.
enum class reward_outcome : std::uint8_t { applied, duplicate, unknown_decision, unknown_item, rejected, wrong_user };
std::string_view to_string(reward_outcome o);

class rank_service {
public:
    // `snapshots` (may be null) supplies known-id signals; `decisions` (may
    // be null) receives decision and reward logs; `new_id` makes decision ids
    // (default: serving time, this instance's tag and 64 random bits,
    // core/decision_id.h; tests
    // inject a counter for reproducible exploration, whose seed is
    // hash(decision id, options.seed)). Throws
    // std::runtime_error if the stored model cannot be read (start-up only).
    rank_service(rank_options options, state::store& store,
                 core::snapshot_cell<engine::model_snapshot>* snapshots, core::message_sink* decisions,
                 prometheus::Registry& registry, std::function<std::string()> new_id = {});
    ~rank_service();

    // Errors: "invalid_parameter" (the request breaks a limit, e.g. a
    // numeric feature that is not finite or beyond max_feature_value;
    // message says which), "storage" (the decision could not be recorded).
    core::result<rank_response> rank(const rank_request& request, std::int64_t now_ms);
    // `value` must be in [0, 1] ("invalid_parameter" otherwise); "storage"
    // when the write failed (the model is then left as it was). `user_id`,
    // when the reward names one (the stream's do), must be the decision's
    // user, if it had one.
    core::result<reward_outcome> reward(std::string_view decision_id, std::string_view item_id, double value,
                                        std::int64_t now_ms, std::string_view user_id = {});

    // Closes up to `limit` decisions ranked before now_ms - reward_window,
    // fewer once 64 default rewards are applied (the lock it holds stalls
    // rank and reward requests); returns how many. Public for tests.
    core::result<std::size_t> close_windows(std::int64_t now_ms, std::size_t limit = 256);
    // Closes every such decision, up to `per_pass` per write, until none is left
    // or `stop` is requested; returns how many. What the service's own
    // thread runs every close_every: ranking thousands of times a second
    // leaves that many windows to close a second.
    core::result<std::size_t> close_due_windows(std::int64_t now_ms, std::size_t per_pass = 256,
                                                std::stop_token stop = {});
    std::uint64_t model_version() const;
    const rank_options& options() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::serve
