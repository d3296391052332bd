// batch_applier: the ingest pipeline without Kafka. Decodes a batch of raw
// messages, applies the valid ones to the model and their users, routes the
// invalid ones to a dead_letter_sink, and commits all state changes together
// with the batch's offsets in one RocksDB write. Used by the Kafka consumer,
// by tests and by offline replays alike, so there is one path for state.
// Not thread-safe: it is the single writer.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/snapshot_cell.h"
#include "engine/learner.h"
#include "engine/model.h"
#include "engine/model_snapshot.h"
#include "events/catalog_decoder.h"
#include "events/event_decoder.h"
#include "state/store.h"
#include "stream/ingest_probe.h"

namespace marquee::stream {

struct raw_message {
    std::string_view topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string_view key;
    std::string_view payload;
    std::int64_t timestamp_ms = 0;  // broker/producer timestamp, fallback event time
    // A catalog record the topic already held when a fresh state began
    // reading it: the back catalogue, not a new item (engine/model.h).
    bool back_catalogue = false;
};

// Where invalid events go. The applier commits a batch's offsets only once
// confirm() says its dead letters arrived. Implementations must not throw.
class dead_letter_sink {
public:
    virtual ~dead_letter_sink() = default;
    // Queues a copy of `message`; an error if it cannot be sent at all.
    virtual core::result<void> send(const raw_message& message, const core::error& why) = 0;
    // Waits for everything sent so far; an error if any of it was not delivered.
    virtual core::result<void> confirm() = 0;
};

struct applier_options {
    events::decoder_options decoder;
    engine::snapshot_options snapshot;
    // Publish a new serving snapshot at most this often (and after every
    // batch when idle longer), and never sooner than publish_cost_ratio times
    // the last publish took, so copying the model costs the ingest thread at
    // most 1 / (1 + ratio) of its time on any catalog size. Default: 5 ms.
    std::chrono::milliseconds publish_interval{5};
    static constexpr int publish_cost_ratio = 4;
    // Messages from this topic are catalog records (events/catalog_decoder.h),
    // everything else is events. Set from kafka_options. Default: "marquee.items".
    std::string items_topic = "marquee.items";
    // Users kept decoded in memory between batches. Default: 100000.
    std::size_t user_cache_size = 100'000;
    engine::reward_options rewards;
};

struct batch_stats {
    std::size_t applied = 0;
    std::size_t invalid = 0;
    std::size_t catalog = 0;  // catalog records applied (not counted in `applied`)
    std::size_t duplicates = 0;  // same event_id as one of the user's latest events
};

class batch_applier {
public:
    batch_applier(state::store& store, engine::model& model,
                  core::snapshot_cell<engine::model_snapshot>& snapshots, dead_letter_sink* dlq,
                  ingest_probe& probe, applier_options options = {});

    // Applies `messages` and commits them with their offsets. An error means
    // the write failed: in-memory state is then ahead of the store, and the
    // caller must stop (a restart resumes from the store).
    core::result<batch_stats> apply(std::span<const raw_message> messages);

    // Applies the default reward to the decisions (up to `limit`) whose
    // reward window closed by `now_ms` (wall clock; see reward_options) and
    // forgets them, in one write. Returns how many were closed.
    // `stream_ms`: the event time every partition has been applied up to
    // (ingest_loop knows which have a backlog); by default the latest event
    // time applied, which is right for a single partition.
    core::result<std::size_t> close_reward_windows(std::int64_t now_ms, std::size_t limit = 1000,
                                                   std::optional<std::int64_t> stream_ms = std::nullopt);

    // Latest event time applied from this partition since start (0: none).
    std::int64_t applied_event_time(std::string_view topic, std::int32_t partition) const;

    // Rewards for decisions this applier does not hold (POST /v1/rank's,
    // kept by serve::rank_service) are offered here before being counted as
    // unknown: `owner` returns true if the decision was its own (it records
    // and counts the reward itself), or an error, which fails the batch.
    using foreign_rewards = std::function<core::result<bool>(const events::event& e, double reward)>;
    void set_foreign_rewards(foreign_rewards owner) { foreign_rewards_ = std::move(owner); }

    // Publishes a serving snapshot now if one is due (or `force`).
    void publish(bool force = false);
    // How long until committed-but-unserved state is due for a snapshot;
    // nullopt when nothing is owed. The poll loop waits no longer than this.
    std::optional<std::chrono::milliseconds> publish_due_in() const;

private:
    using decision_map = std::map<std::string, engine::pending_decision, std::less<>>;
    // The user's pending decision, served within the reward window before
    // `e`, that showed e's item and has no reward for it yet.
    core::result<engine::pending_decision*> window_decision(const events::event& e, decision_map& decisions);
    core::result<engine::user_state*> user(std::string_view id);
    core::result<void> apply_catalog(const raw_message& m, batch_stats& stats);
    // Counts and forwards an invalid record; an error stops the batch.
    core::result<void> dead_letter(const raw_message& m, const core::error& why);

    state::store& store_;
    engine::model& model_;
    core::snapshot_cell<engine::model_snapshot>& snapshots_;
    dead_letter_sink* dlq_;
    ingest_probe& probe_;
    applier_options options_;
    events::event_decoder decoder_;
    events::catalog_decoder catalog_decoder_;
    engine::learner learner_;
    engine::touched touched_;
    std::vector<std::uint32_t> sorted_rows_;  // reused scratch
    boost::unordered_flat_map<std::string, engine::user_state, online_models::string_hash, std::equal_to<>> users_;
    std::chrono::steady_clock::time_point last_publish_{};
    std::chrono::steady_clock::duration publish_gap_{};  // publish_interval, or more (publish_cost_ratio)
    bool unpublished_ = false;
    foreign_rewards foreign_rewards_;
    std::map<std::pair<std::string, std::int32_t>, std::int64_t, std::less<>> event_times_;
};

}  // namespace marquee::stream
