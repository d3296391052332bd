// ingest_loop: the Kafka consumer-group side of ingestion. Subscribes to the
// events topic, seeks each assigned partition to the offset stored in RocksDB
// beside the state (not the group's), gathers messages into batches bounded
// by size and time, and hands each batch to a batch_applier. Flushes the
// batch in flight before giving partitions up on a rebalance.
// Runs on one thread (the single writer); `ready()` may be read from any.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <span>

#include "core/result.h"
#include "state/store.h"
#include "stream/batch_applier.h"
#include "stream/ingest_probe.h"
#include "stream/kafka_options.h"

namespace marquee::stream {

struct ingest_options {
    // Largest batch (messages) applied in one RocksDB write; large batches
    // amortise rewriting hot users and items under backlog. Default: 5000.
    int batch_max_messages = 5000;
    // Longest a message waits for its batch to fill. Default: 10 ms.
    std::chrono::milliseconds batch_max_wait{10};
    // ready() needs the consumer lag (messages, all owned partitions) at
    // most this. Default: 10000.
    std::int64_t ready_max_lag = 10'000;
    // A partition another group member consumed since this instance last
    // held it (its group offset is ahead of the one stored here): false
    // starts at the group's offset, so the group applies every event once,
    // but this instance's state for that partition's users misses what the
    // other member applied; true replays from the stored offset (the
    // beginning if none), so every user this instance owns has their whole
    // history here, at the cost of applying those events a second time and
    // of not being ready until caught up. Default: false.
    bool replay_moved_partitions = false;
    // Longest a revoke (a rebalance, or the shutdown) waits for a broker to
    // answer before it commits the group's offsets; none answering, it does
    // not commit, where librdkafka would wait session.timeout.ms for the
    // coordinator. The next owner then starts from the group's older offset;
    // RocksDB still holds ours. Default: 5 s.
    std::chrono::milliseconds revoke_commit_timeout{5'000};
};

// The readiness rule: partitions assigned, their total lag measured (-1:
// not yet) and at most `max_lag`.
constexpr bool is_ready(std::size_t assigned_partitions, std::int64_t measured_lag, std::int64_t max_lag) {
    return assigned_partitions > 0 && measured_lag >= 0 && measured_lag <= max_lag;
}

// What the reward windows wait for, per owned partition.
struct partition_progress {
    std::int64_t lag = -1;               // messages left to read; -1: not known yet
    std::int64_t applied_event_ms = 0;   // latest event time applied (0: none)
};

// The event time the stream has been applied up to, over every owned
// partition: the wall clock if none has a backlog, else the earliest
// latest-applied event time among those that have one (or whose backlog is
// not known yet). A window closes only past it, so a partition that caught
// up first cannot close the windows of users whose clicks wait in another.
std::int64_t applied_stream_time(std::span<const partition_progress> partitions, std::int64_t now_ms);

class ingest_loop {
public:
    // Creates the consumer; throws std::invalid_argument on bad configuration.
    ingest_loop(const kafka_options& kafka, const ingest_options& options, state::store& store,
                batch_applier& applier, ingest_probe& probe);
    ~ingest_loop();

    // Consumes until `stop` is set (checked at least every 100 ms) or a
    // fatal error. On return the last batch is committed and the consumer
    // has left the group.
    core::result<void> run(const std::atomic<bool>& stop);

    // Asks run() to apply what the owned partitions hold now (their high
    // watermarks, read when it sees the request, or at the group's first
    // assignment if none is owned yet), then return as if stopped; it gives
    // up after `budget`, logging what it leaves. For the embedded broker,
    // whose log dies with the process. Safe from any thread.
    void drain_then_stop(std::chrono::milliseconds budget);

    // True while partitions are assigned and the lag over them, measured at
    // most a second ago, is within options.ready_max_lag.
    bool ready() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::stream
