// store: Marquee's durable state in RocksDB: users, items, bandit, pending
// decisions and the Kafka offsets they reflect, in one database so a batch of
// state changes and its offsets commit atomically (exactly-once effect).
// Thread-safe: one ingest writer commits batches while serving threads read
// users and record decisions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "engine/model.h"
#include "engine/pending_decision.h"
#include "engine/user_state.h"

namespace marquee::state {

struct store_options {
    // Directory of the database. Required.
    std::string path;
    // Create the database if `path` holds none; false makes that an error
    // (for commands that only read). Default: true.
    bool create_if_missing = true;
    // fsync the WAL on every batch. Off, a process crash loses nothing; a
    // power loss may lose the newest batches *together with* their offsets,
    // which are then consumed again (the ingest commits the group's offsets
    // only after a sync_wal(), so they never pass what the store kept).
    // Default: false.
    bool sync_writes = false;
    // Block cache size; keep it large enough for the hot users. Default: 64 MiB.
    std::size_t block_cache_bytes = 64u << 20;
    // Cap on the bytes/s RocksDB's flushes and compactions write; 0: none.
    // Spread over seconds, a compaction of the decision log no longer takes
    // a core at once and queues requests behind it. Ingest's flushes write
    // little (hot keys are overwritten in the memtable). Default: 32 MiB/s.
    std::size_t background_write_bytes_per_s = 32u << 20;
    // Run RocksDB's flush and compaction threads at the lowest CPU priority
    // (nice 19). They are process-wide: once lowered, they stay lowered for
    // every store the process opens. Default: true.
    bool background_low_priority = true;
};

struct partition_offset {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t next_offset = 0;  // the first offset not yet applied
};

class store;

// Health figures read from RocksDB, for metrics.
struct store_stats {
    std::uint64_t live_sst_bytes = 0;
    std::uint64_t memtable_bytes = 0;
    std::uint64_t pending_compaction_bytes = 0;
    std::uint64_t running_compactions = 0;
    bool write_stopped = false;
    std::uint64_t delayed_write_rate = 0;  // bytes/s while writes are throttled, else 0
    std::uint64_t stall_micros = 0;        // cumulative time writes were stalled
    std::uint64_t pending_decisions = 0;   // estimate
    std::uint64_t background_write_limit = 0;  // bytes/s; 0: none
};

// write_set: changes that commit together or not at all (a RocksDB WriteBatch).
class write_set {
public:
    ~write_set();
    write_set(write_set&&) noexcept;

    void put_user(std::string_view id, const engine::user_state& user);
    // Writes the item's vector and statistics, and its co-visitation list
    // (column family "covisit") when it has one.
    void put_item(const engine::model& m, std::uint32_t row);
    void put_covisit(const engine::model& m, std::uint32_t row);
    void put_bandit(const engine::model& m);
    // Model version and clock: written with every batch.
    void put_model_meta(const engine::model& m);
    // A decision and its index entries (by user and by serving time).
    void put_decision(std::string_view id, const engine::pending_decision& d);
    void erase_decision(std::string_view id, const engine::pending_decision& d);
    void put_offset(const partition_offset& offset);
    std::size_t count() const;

private:
    friend class store;
    struct impl;
    explicit write_set(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

class store {
public:
    // Opens (creating if needed) the database at options.path. A directory
    // that holds RocksDB tables but no CURRENT is "corruption", never taken
    // for a first start (RocksDB would create a new database and delete them).
    static core::result<std::unique_ptr<store>> open(const store_options& options);
    // Whether another process holds the database at `path` open (its RocksDB
    // LOCK): a running engine. Not for a path this process has open: closing
    // the probe would release this process's lock too (POSIX record locks).
    static bool in_use(const std::string& path);
    ~store();

    core::result<std::optional<engine::user_state>> get_user(std::string_view id) const;
    core::result<std::optional<engine::pending_decision>> get_decision(std::string_view id) const;
    struct stored_decision {
        std::string id;
        engine::pending_decision decision;
    };
    // The user's pending decisions served in [from_ms, to_ms], newest first,
    // each passed to `visit` until it returns false (for rewards that arrive
    // without a decision id: the list answered is usually among the newest,
    // and a user with thousands of lists in the window costs no more).
    core::result<void> user_decisions(std::string_view user_id, std::int64_t from_ms, std::int64_t to_ms,
                                      const std::function<bool(stored_decision&&)>& visit) const;
    // Up to `limit` pending decisions served before `before_ms`, oldest first
    // (their reward window has closed).
    core::result<std::vector<stored_decision>> decisions_served_before(std::int64_t before_ms,
                                                                       std::size_t limit) const;

    write_set begin() const;
    core::result<void> commit(write_set& changes);
    // Makes every commit so far survive a power loss (fsyncs the WAL; with
    // sync_writes they already do). Concurrent writes are not blocked.
    core::result<void> sync_wal();

    // Restores items, bandit and version into a freshly constructed model.
    // Reason "feature_map_changed": the stored bandit was learned with
    // another feature map; everything else is loaded and the bandit is at
    // its prior (the caller decides whether that is acceptable).
    core::result<void> load_model(engine::model& m) const;

    // The stored offsets. A read error or a malformed record is an error,
    // never "no offset": that would re-apply what the store already holds.
    core::result<std::vector<partition_offset>> offsets() const;
    core::result<std::optional<std::int64_t>> offset(std::string_view topic, std::int32_t partition) const;
    // Id of the Kafka cluster the stored offsets belong to ("" if none yet).
    core::result<std::string> cluster_id() const;
    // Drawn at random when the data dir is created, then kept: the tag in
    // the decision ids this instance serves (core/decision_id.h), so that
    // instances sharing a stream tell each other's decisions from unknown ones.
    std::uint16_t instance_tag() const;
    // Forgets all offsets and records `cluster_id` as the offsets' cluster.
    core::result<void> reset_offsets(std::string_view cluster_id);

    // Deterministic digest of users, items, co-visitation and bandit (not offsets, not
    // pending decisions): equal state <=> equal checksum, whatever the
    // partitioning or batching that produced it.
    core::result<std::uint64_t> checksum() const;

    // Thread-safe; cheap enough to call at every metrics scrape.
    store_stats stats() const;

    // ---- rank (POST /v1/rank) -------------------------------------------
    // Column family "rank": the rank model and rank decisions, as opaque
    // bytes encoded by serve::rank_service. Never the "decisions" family:
    // the ingest decodes everything there as recommendation decisions.
    core::result<std::optional<std::string>> get_rank(std::string_view key) const;
    // Writes every (key, value) pair in one atomic batch, after erasing the
    // keys in [erase_from, erase_to) when erase_to is not empty, and the
    // keys in `erase`.
    core::result<void> put_rank(std::span<const std::pair<std::string_view, std::string_view>> entries,
                                std::string_view erase_from = {}, std::string_view erase_to = {},
                                std::span<const std::string> erase = {});
    // Calls `visit` for every key starting with `prefix`, in key order, until it returns false.
    core::result<void> scan_rank(std::string_view prefix,
                                 const std::function<bool(std::string_view key, std::string_view value)>& visit) const;

private:
    struct impl;
    explicit store(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::state
