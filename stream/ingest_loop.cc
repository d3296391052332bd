#include "stream/ingest_loop.h"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <vector>

#include "core/wall_clock.h"

namespace marquee::stream {

namespace {

using clock = std::chrono::steady_clock;

// Client-level errors (broker down, authentication, ...) arrive as events,
// not as consume() results; count them, and route librdkafka's logs to
// spdlog (setting an event callback takes them off stderr).
class kafka_events final : public RdKafka::EventCb {
public:
    explicit kafka_events(ingest_probe& probe) : probe_(probe) {}
    void event_cb(RdKafka::Event& e) override {
        switch (e.type()) {
        case RdKafka::Event::EVENT_ERROR:
            probe_.consumer_error();
            spdlog::warn("ingest: kafka: {} ({})", e.str(), RdKafka::err2str(e.err()));
            break;
        case RdKafka::Event::EVENT_LOG: log_kafka_event(e); break;
        default: break;
        }
    }

private:
    ingest_probe& probe_;
};

struct owned_partitions {
    std::vector<RdKafka::TopicPartition*> list;
    ~owned_partitions() { RdKafka::TopicPartition::destroy(list); }
};

}  // namespace

std::int64_t applied_stream_time(std::span<const partition_progress> partitions, std::int64_t now_ms) {
    std::int64_t applied = now_ms;
    for (const auto& p : partitions)
        if (p.lag != 0) applied = std::min(applied, p.applied_event_ms);
    return applied;
}

struct ingest_loop::impl : RdKafka::RebalanceCb {
    kafka_options kafka;
    ingest_options options;
    state::store& store;
    batch_applier& applier;
    ingest_probe& probe;
    kafka_events events{probe};  // outlives the consumers that call it
    std::unique_ptr<RdKafka::KafkaConsumer> consumer;
    // The catalog is a table every instance needs whole, so its topic is
    // read outside the group: all partitions, manually assigned, from the
    // offsets stored with the state (the beginning if none).
    std::unique_ptr<RdKafka::KafkaConsumer> catalog;
    bool catalog_assigned = false;
    bool catalog_missing_logged = false;
    // Per catalog partition: records below this offset are the back
    // catalogue (-1: none, the state had read the partition before).
    std::map<std::int32_t, std::int64_t> back_catalogue_end;
    clock::time_point next_catalog_try{};
    std::vector<std::unique_ptr<RdKafka::Message>> batch;
    clock::time_point batch_started;
    std::atomic<std::size_t> assigned{0};
    std::atomic<std::int64_t> total_lag{-1};  // -1: not known yet
    struct position {
        std::int64_t next = -1;  // next offset; -1: the log start or auto.offset.reset
        std::int64_t lag = -1;   // at the last update_lag; -1: not known yet
    };
    std::map<std::pair<std::string, std::int32_t>, position> positions;  // per owned partition
    // The offset each owned partition's next message should have, by what
    // was consumed (positions trails it by the batch in flight); -1: unknown.
    // By partition alone: the group reads one topic.
    std::map<std::int32_t, std::int64_t> next_expected;
    clock::time_point last_lag_update{};
    static constexpr auto group_commit_interval = std::chrono::seconds(1);
    clock::time_point last_group_commit{};
    bool group_behind = false;  // batches applied since the group was last told
    bool cluster_known = false;  // the stored offsets were checked against the cluster's id
    static constexpr auto unassigned_warning_after = std::chrono::seconds(10);
    std::optional<clock::time_point> unassigned_since;  // owning no partition since (set once subscribed)
    bool unassigned_logged = false;
    clock::time_point last_checkpoint_log = clock::now();
    clock::time_point next_window_check{};
    std::size_t committed_since_log = 0;
    core::result<void> fatal = core::success();
    // drain_then_stop(): requested (budget in ms, -1: not), and once seen,
    // each owned partition's watermarks then (its log start, and the end
    // to reach by the deadline).
    std::atomic<std::int64_t> drain_budget_ms{-1};
    std::optional<clock::time_point> drain_deadline;
    std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> drain_targets;

    impl(const kafka_options& k, const ingest_options& o, state::store& s, batch_applier& a, ingest_probe& p)
        : kafka(k), options(o), store(s), applier(a), probe(p) {}

    // Applies and commits the batch in flight, then tells the group (at most
    // once per group_commit_interval). `sync` tells it now and waits: needed
    // when the partitions are about to move to another member, which starts
    // from the group's offsets.
    bool flush(bool sync = false) {
        // After a failed apply the in-memory state is ahead of the store:
        // applying the batch again (from the revoke that close() runs)
        // would count its events twice.
        if (!fatal) return false;
        if (!batch.empty() && !apply_batch()) return false;
        if (sync || clock::now() - last_group_commit >= group_commit_interval) commit_group(sync);
        return true;
    }

    bool apply_batch() {
        std::vector<raw_message> raw;
        raw.reserve(batch.size());
        // topic_name() returns a temporary; the views below must outlive
        // this loop, so the names are kept here (reserved: never moved).
        std::vector<std::string> topics;
        topics.reserve(batch.size());
        for (const auto& m : batch) {
            raw.push_back(raw_message{
                .topic = topics.emplace_back(m->topic_name()),
                .partition = m->partition(),
                .offset = m->offset(),
                .key = m->key() ? std::string_view(*m->key()) : std::string_view(),
                .payload = std::string_view(static_cast<const char*>(m->payload()), m->len()),
                .timestamp_ms = m->timestamp().timestamp,
            });
            if (raw.back().topic == kafka.items_topic)
                if (const auto end = back_catalogue_end.find(m->partition()); end != back_catalogue_end.end())
                    raw.back().back_catalogue = m->offset() < end->second;
        }
        auto applied = applier.apply(raw);
        if (applied) committed_since_log += batch.size();
        if (!applied) {
            fatal = applied.error();
            spdlog::critical("ingest: commit failed ({}); stopping without committing offsets", applied.error().message);
            return false;
        }
        // One lookup per run of messages from one partition (the group reads one topic).
        position* at = nullptr;
        std::int32_t at_partition = -1;
        for (const auto& m : raw) {
            if (m.topic == kafka.items_topic) continue;  // not the group's partitions
            if (!at || m.partition != at_partition) {
                at = &positions[{std::string(m.topic), m.partition}];
                at_partition = m.partition;
            }
            // Not max(): after auto.offset.reset moved a partition back (its
            // log now ends before where we were), where we are is lower.
            at->next = m.offset + 1;
        }
        batch.clear();
        group_behind = true;
        return true;
    }

    // Tells the group how far every owned partition is applied. Those
    // offsets trail RocksDB's: they serve lag tools and the next owner of a
    // partition, and a start takes the later of the two. So they must never
    // pass what the store would keep through a power loss: the WAL is synced
    // first, at most once per group_commit_interval (and at every revoke).
    void commit_group(bool sync) {
        last_group_commit = clock::now();
        owned_partitions owned;
        for (const auto& [tp, p] : positions)
            if (p.next >= 0) owned.list.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, p.next));
        if (owned.list.empty()) return;
        if (auto synced = store.sync_wal(); !synced) {
            spdlog::warn("ingest: syncing the state's WAL failed ({}); the group's offsets stay where they were",
                         synced.error().message);
            return;
        }
        group_behind = false;
        if (sync) {
            const auto err = commit_if_reachable(owned.list, options.revoke_commit_timeout);
            if (err != RdKafka::ERR_NO_ERROR)
                spdlog::warn("ingest: group commit failed ({}); RocksDB holds the offsets", RdKafka::err2str(err));
        } else {
            consumer->commitAsync(owned.list);
        }
    }

    // commitSync() waits for the coordinator as long as librdkafka does
    // (session.timeout.ms), and so does closing the consumer with a commit
    // unanswered. So no commit is sent while no broker answers within
    // `timeout`: the brokers gone shortly before a stop. (A commit that is
    // sent is not abandoned on a deadline either: close() would then wait
    // for it, and an abandoned reply queue was seen to hang it for good.)
    RdKafka::ErrorCode commit_if_reachable(std::vector<RdKafka::TopicPartition*>& offsets, std::chrono::milliseconds timeout) {
        RdKafka::Metadata* brokers = nullptr;
        if (const auto err = consumer->metadata(false, nullptr, &brokers, int(timeout.count()));
            err != RdKafka::ERR_NO_ERROR)
            return err;
        delete brokers;
        return consumer->commitSync(offsets);
    }

    // Where to start a newly assigned partition: the later of the offset
    // stored with our state and the group's committed offset. Stored wins
    // after a crash between our write and the group commit; committed wins
    // when another member consumed the partition since we last owned it,
    // unless options.replay_moved_partitions asks to catch up from ours.
    void choose_start_offsets(RdKafka::KafkaConsumer* c, std::vector<RdKafka::TopicPartition*>& partitions) {
        // Brokers unreachable at start-up: the stored offsets may belong to
        // a cluster since rebuilt, where they would skip records uncounted.
        if (!cluster_known) check_cluster();
        if (!cluster_known && fatal)
            spdlog::warn("ingest: the Kafka cluster id is still unknown at assignment; trusting the stored offsets");
        owned_partitions committed;
        for (auto* tp : partitions) committed.list.push_back(RdKafka::TopicPartition::create(tp->topic(), tp->partition()));
        const auto read_committed = c->committed(committed.list, 10'000);
        const bool group_known = read_committed == RdKafka::ERR_NO_ERROR;
        if (!group_known) {
            spdlog::warn("ingest: could not read the group's committed offsets ({}); a partition with a stored "
                         "offset starts there, the others where the consumer then finds the group's offset",
                         RdKafka::err2str(read_committed));
            for (auto* tp : committed.list) tp->set_offset(RdKafka::Topic::OFFSET_INVALID);
        }
        for (std::size_t n = 0; n < partitions.size(); ++n) {
            auto* tp = partitions[n];
            auto read = store.offset(tp->topic(), tp->partition());
            if (!read) {
                // Starting without it could apply again what the store holds;
                // stopping applies nothing more (flush checks fatal).
                fatal = read.error();
                spdlog::critical("ingest: reading the stored offset of {}[{}]: {}; stopping", tp->topic(),
                                 tp->partition(), read.error().message);
            }
            const auto stored = read ? read.value().value_or(-1) : -1;
            const auto group = committed.list[n]->offset();
            const bool replay = options.replay_moved_partitions && group > stored;
            const auto start = replay ? stored : std::max<std::int64_t>(stored, group);
            if (start >= 0) tp->set_offset(start);
            else if (replay) tp->set_offset(RdKafka::Topic::OFFSET_BEGINNING);
            positions[{tp->topic(), tp->partition()}] = {.next = start};
            // What note_offset expects first: with no offset, a replay or
            // auto.offset.reset=earliest means "from the first record", so
            // whatever the broker deleted before we read it counts as skipped.
            // Unless the group's offset could not be read: librdkafka may
            // then find one and start there, so the first record is taken
            // as it comes (-1), not as a jump from 0.
            next_expected[tp->partition()] = start >= 0 ? start
                                             : replay   ? 0
                                             : group_known ? reset_position(c, *tp)
                                                           : -1;
            // Events another member applied, or, after a data dir was
            // restored from a backup, events this state will never hold.
            const bool behind = stored >= 0 && group > stored && !replay;
            spdlog::log(behind ? spdlog::level::warn : spdlog::level::info,
                        "ingest: assigned {}[{}]: stored offset {}, group offset {} -> {}{}", tp->topic(), tp->partition(),
                         stored >= 0 ? std::to_string(stored) : "none",
                         !group_known ? "unknown" : group >= 0 ? std::to_string(group) : "none",
                         start >= 0 ? "start at " + std::to_string(start)
                                    : std::string(replay          ? "start at the beginning"
                                              : group_known ? "auto.offset.reset"
                                                            : "the group's offset if the consumer reads one, "
                                                              "else auto.offset.reset"),
                         replay ? " (replaying what another member applied)"
                         : behind ? " (skipping " + std::to_string(group - stored) +
                                        " offsets another member applied, or that a data dir restored from a backup "
                                        "lacks: ingest.replay_moved_partitions replays them)"
                                  : std::string());
        }
    }

    // True once a requested drain is done: every owned partition consumed up
    // to the high watermark it had when the drain began (the loop's exit
    // then commits the batch in flight), or the budget spent. Owning nothing
    // yet (the group still joining, as in the first seconds after a start),
    // it waits for the assignment: the broker may hold events already.
    bool drained() {
        const auto budget = drain_budget_ms.load();
        if (budget < 0) return false;
        const auto now = clock::now();
        if (!drain_deadline) drain_deadline = now + std::chrono::milliseconds(budget);
        if (drain_targets.empty() && !positions.empty()) {
            for (const auto& [tp, p] : positions) {
                std::int64_t low = -1, high = -1;
                if (const auto err = consumer->query_watermark_offsets(tp.first, tp.second, &low, &high, 2'000);
                    err == RdKafka::ERR_NO_ERROR)
                    drain_targets[tp.second] = {low, high};
                else
                    spdlog::error("ingest: the end of {}[{}] is unknown ({}); not waiting for it", tp.first,
                                  tp.second, RdKafka::err2str(err));
            }
            if (drain_targets.empty()) return true;
        }
        std::int64_t left = 0;
        for (const auto& [partition, ends] : drain_targets) {
            const auto at = positions.find({kafka.events_topic, partition});
            if (at == positions.end()) continue;  // revoked: another member's now
            const auto [low, high] = ends;
            // Where this consumer is: what it consumed, else applied, else
            // (nothing read yet) the log start.
            const auto consumed = next_expected.find(partition);
            const std::int64_t next = consumed != next_expected.end() && consumed->second >= 0 ? consumed->second
                                      : at->second.next >= 0                                  ? at->second.next
                                                                                              : low;
            left += std::max<std::int64_t>(0, high - std::max(next, low));
        }
        if (left == 0 && !drain_targets.empty()) return true;
        if (now < *drain_deadline) return false;
        if (drain_targets.empty())
            spdlog::error("ingest: stopping before any partition was assigned: what the embedded broker holds "
                          "is not applied and ends with it");
        else
            spdlog::error("ingest: stopping with {} record(s) the embedded broker holds not applied: they end with it",
                          left);
        return true;
    }

    // The consumer's value of `name` (kafka.* over the consumer defaults).
    std::string consumer_setting(const std::string& name, std::string fallback) const {
        for (const auto* settings : {&kafka.consumer_defaults, &kafka.properties})
            if (auto it = settings->find(name); it != settings->end()) fallback = it->second;
        return fallback;
    }

    // Owning no partition for long is normal for a spare member, but after a
    // restart it is usually the old process, killed without leaving the
    // group, still holding them: say so once per such stretch, as nothing
    // else would explain the wait.
    void note_unassigned() {
        const auto now = clock::now();
        if (assigned > 0 || !unassigned_since) {
            unassigned_since = now;
            unassigned_logged = false;
            return;
        }
        if (unassigned_logged || now - *unassigned_since < unassigned_warning_after) return;
        unassigned_logged = true;
        spdlog::warn("ingest: no partition of {} assigned for {} s. Either group {} has more members than the topic "
                     "has partitions, or a member that stopped without leaving the group (killed) still holds them "
                     "until its session times out (session.timeout.ms = {} ms here)",
                     kafka.events_topic,
                     std::chrono::duration_cast<std::chrono::seconds>(now - *unassigned_since).count(), kafka.group_id,
                     consumer_setting("session.timeout.ms", "45000"));
    }

    // The first offset a partition with no offset is meant to deliver: 0
    // under auto.offset.reset=earliest (Marquee's default), the current end
    // under latest; -1 when the broker cannot say (skipped offsets then go
    // uncounted until the first message).
    std::int64_t reset_position(RdKafka::KafkaConsumer* c, const RdKafka::TopicPartition& tp) const {
        const std::string policy = consumer_setting("auto.offset.reset", "earliest");
        if (policy != "latest" && policy != "largest" && policy != "end") return 0;
        std::int64_t low = -1, high = -1;
        if (c->query_watermark_offsets(tp.topic(), tp.partition(), &low, &high, 5'000) != RdKafka::ERR_NO_ERROR)
            return -1;
        return high;
    }

    // A partition that jumps over offsets: transaction markers (one offset
    // each) and aborted transactions are never delivered, which is fine; but
    // records the broker deleted before we read them (retention, or the
    // embedded broker's bounded log, outran the lag; auto.offset.reset then
    // moved us to the log start) are lost, so they are counted and logged.
    void note_offset(const RdKafka::Message& m) {
        auto it = next_expected.find(m.partition());
        if (it == next_expected.end()) return;
        const std::int64_t expected = it->second;
        it->second = m.offset() + 1;
        if (expected >= 0 && m.offset() < expected) {
            spdlog::warn("ingest: {}[{}] went back from offset {} to {}: its log ends before where this consumer "
                         "was (the topic re-created, or truncated); applying its records from there",
                         m.topic_name(), m.partition(), expected, m.offset());
            return;
        }
        if (expected < 0 || m.offset() <= expected + 1) return;
        std::int64_t low = 0, high = 0;
        if (auto err = consumer->query_watermark_offsets(m.topic_name(), m.partition(), &low, &high, 2'000);
            err != RdKafka::ERR_NO_ERROR) {
            spdlog::warn("ingest: {}[{}] jumped from offset {} to {}, and its log start could not be read ({}): "
                         "records may have been deleted before they were read",
                         m.topic_name(), m.partition(), expected, m.offset(), RdKafka::err2str(err));
            return;
        }
        const std::int64_t lost = std::min<std::int64_t>(low, m.offset()) - expected;
        if (lost <= 0) return;
        probe.offsets_skipped(m.topic_name(), lost);
        spdlog::error("ingest: {}[{}]: the broker no longer holds offsets {} to {}: {} records were deleted (retention "
                      "or a size bound) before this consumer read them, and are lost to its state",
                      m.topic_name(), m.partition(), expected, expected + lost - 1, lost);
    }

    // Consumer lag per partition, from the high watermarks librdkafka
    // caches with every fetch (no broker round trip).
    // One line per checkpoint interval, not per batch: what was committed
    // and where each owned partition now stands.
    void log_checkpoint(bool force = false) {
        const auto now = clock::now();
        if (committed_since_log == 0 || (!force && now - last_checkpoint_log < std::chrono::seconds(30))) return;
        std::string offsets;
        for (const auto& [tp, p] : positions)
            if (p.next >= 0) offsets += " " + tp.first + "[" + std::to_string(tp.second) + "]=" + std::to_string(p.next);
        spdlog::info("ingest: checkpoint: {} messages committed in {:.1f} s; next offsets{}", committed_since_log,
                     std::chrono::duration<double>(now - last_checkpoint_log).count(), offsets);
        committed_since_log = 0;
        last_checkpoint_log = now;
    }

    // Decisions whose reward window closed get the default reward. Checked
    // once a second between batches (the window is minutes long), and again
    // at once while a pass finds more than it takes: serving writes
    // thousands of decisions a second.
    void close_reward_windows() {
        constexpr std::size_t per_pass = 1000;
        const auto now = clock::now();
        if (now < next_window_check) return;
        next_window_check = now + std::chrono::seconds(1);
        const auto wall_ms = core::wall_clock_ms();
        std::vector<partition_progress> progress;
        for (const auto& [tp, p] : positions) {
            progress.push_back({p.lag, applier.applied_event_time(tp.first, tp.second)});
        }
        // Owning no partition (at start-up, before the group assigns any,
        // or after losing them), nothing says how far the stream is: the
        // newest event applied may belong to a partition that was ahead of
        // one whose backlog holds clicks. So windows close at their TTL only
        // (an applied time of 0).
        auto closed = applier.close_reward_windows(
            wall_ms, per_pass, progress.empty() ? 0 : applied_stream_time(progress, wall_ms));
        if (!closed) {
            fatal = closed.error();
            spdlog::critical("ingest: closing reward windows failed ({}); stopping", closed.error().message);
        } else if (closed.value() == per_pass) {
            next_window_check = now;
        }
    }

    void update_lag(bool force = false) {
        log_checkpoint();
        const auto now = clock::now();
        if (!force && now - last_lag_update < std::chrono::seconds(1)) return;
        last_lag_update = now;
        std::int64_t total = 0;
        bool known = true;
        for (auto& [tp, p] : positions) {
            std::int64_t low = 0, high = 0;
            if (consumer->get_watermark_offsets(tp.first, tp.second, &low, &high) != RdKafka::ERR_NO_ERROR ||
                high < 0) {
                // No fetch answered yet for this partition, or none now (the
                // brokers are unreachable): a lag measured before stands, so
                // an outage does not make every replica unready at once.
                if (p.lag < 0) known = false;
                else total += p.lag;
                continue;
            }
            // Not consumed yet and no stored offset: auto.offset.reset
            // (earliest by default) starts at the low watermark.
            p.lag = std::max<std::int64_t>(0, high - (p.next >= 0 ? p.next : low));
            total += p.lag;
            probe.lag(tp.first, tp.second, double(p.lag));
        }
        total_lag = known && !positions.empty() ? total : -1;
    }

    void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& partitions) override {
        const bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
        if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
            choose_start_offsets(c, partitions);
            RdKafka::Error* e = nullptr;
            if (cooperative) e = c->incremental_assign(partitions);
            else c->assign(partitions);
            if (e) {
                spdlog::error("ingest: assign failed: {}", e->str());
                delete e;
            }
            assigned += partitions.size();
            total_lag = -1;  // the new partitions' lag is not known yet
            probe.rebalanced("assign");
        } else if (c->assignment_lost()) {
            // The group gave up on us (no heartbeat for session.timeout.ms):
            // another member may own these partitions and have moved their
            // offsets on, so ours must not reach the group. What we read is
            // still applied, with its offsets, to our own store.
            if (fatal && !batch.empty()) apply_batch();
            spdlog::warn("ingest: {} partition(s) lost (the group coordinator did not hear from us within "
                         "session.timeout.ms); rejoining",
                         partitions.size());
            release(c, partitions, cooperative);
            probe.rebalanced("lost");
        } else {
            // Finish what we hold for these partitions before they go, and
            // make sure the group knows, since the next owner starts there.
            flush(true);
            spdlog::info("ingest: {} partition(s) revoked", partitions.size());
            release(c, partitions, cooperative);
            probe.rebalanced("revoke");
        }
        probe.assigned_partitions(assigned);
    }

    void release(RdKafka::KafkaConsumer* c, const std::vector<RdKafka::TopicPartition*>& partitions, bool cooperative) {
        for (auto* tp : partitions) {
            positions.erase({tp->topic(), tp->partition()});
            next_expected.erase(tp->partition());
            probe.lag_removed(tp->topic(), tp->partition());
        }
        if (cooperative) {
            if (auto* e = c->incremental_unassign(partitions)) delete e;
            assigned -= std::min<std::size_t>(assigned, partitions.size());
        } else {
            c->unassign();
            assigned = 0;
        }
    }

    // Assigns every partition of the catalog topic once it exists (retried
    // every few seconds until then; a missing catalog is not fatal).
    void assign_catalog() {
        if (!catalog || catalog_assigned || clock::now() < next_catalog_try) return;
        next_catalog_try = clock::now() + std::chrono::seconds(5);
        // Its stored offsets may belong to another cluster, as the events'
        // may. Not waiting here: the loop must stay responsive, and the
        // consumer learns the id with its first metadata once brokers answer.
        if (!cluster_known) check_cluster(0);
        if (!cluster_known) return;
        std::string err_text;
        std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(catalog.get(), kafka.items_topic, nullptr, err_text));
        if (!topic) {
            spdlog::warn("ingest: catalog topic {}: {}", kafka.items_topic, err_text);
            return;
        }
        RdKafka::Metadata* raw = nullptr;
        if (auto err = catalog->metadata(false, topic.get(), &raw, 5'000); err != RdKafka::ERR_NO_ERROR) {
            spdlog::warn("ingest: catalog topic {}: no metadata ({}); retrying", kafka.items_topic, RdKafka::err2str(err));
            return;
        }
        std::unique_ptr<RdKafka::Metadata> md(raw);
        owned_partitions all;
        for (const auto* t : *md->topics()) {
            if (t->topic() != kafka.items_topic || t->err() != RdKafka::ERR_NO_ERROR) continue;
            for (const auto* p : *t->partitions()) {
                auto read = store.offset(kafka.items_topic, p->id());
                if (!read) {
                    fatal = read.error();
                    spdlog::critical("ingest: reading the stored offset of {}[{}]: {}; stopping", kafka.items_topic,
                                     p->id(), read.error().message);
                    return;
                }
                const auto stored = read.value().value_or(-1);
                // Read from the beginning, what the topic holds now is the
                // back catalogue (a replica joining a running deployment
                // reads it while events move the model's clock on).
                std::int64_t low = -1, high = -1;
                if (stored < 0) {
                    if (auto err = catalog->query_watermark_offsets(kafka.items_topic, p->id(), &low, &high, 5'000);
                        err != RdKafka::ERR_NO_ERROR) {
                        spdlog::warn("ingest: catalog topic {}[{}]: no watermarks ({}); retrying", kafka.items_topic,
                                     p->id(), RdKafka::err2str(err));
                        return;
                    }
                }
                back_catalogue_end[p->id()] = high;
                all.list.push_back(RdKafka::TopicPartition::create(
                    kafka.items_topic, p->id(), stored >= 0 ? stored : RdKafka::Topic::OFFSET_BEGINNING));
            }
        }
        if (all.list.empty()) {
            // Once at warn level: a deployment without a catalog retries quietly.
            spdlog::log(catalog_missing_logged ? spdlog::level::debug : spdlog::level::warn,
                        "ingest: catalog topic {} does not exist (yet); retrying every 5 s", kafka.items_topic);
            catalog_missing_logged = true;
            return;
        }
        if (auto err = catalog->assign(all.list); err != RdKafka::ERR_NO_ERROR) {
            spdlog::warn("ingest: catalog assign failed ({}); retrying", RdKafka::err2str(err));
            return;
        }
        catalog_assigned = true;
        spdlog::info("ingest: reading all {} partition(s) of catalog topic {}", all.list.size(), kafka.items_topic);
    }

    // Moves what the catalog consumer has buffered into the batch, without waiting.
    void drain_catalog() {
        if (!catalog_assigned) return;
        while (int(batch.size()) < options.batch_max_messages) {
            std::unique_ptr<RdKafka::Message> m(catalog->consume(0));
            if (m->err() == RdKafka::ERR__TIMED_OUT) return;
            if (m->err() != RdKafka::ERR_NO_ERROR) {
                probe.consumer_error();
                spdlog::warn("ingest: catalog consumer: {}", m->errstr());
                return;
            }
            if (batch.empty()) batch_started = clock::now();
            batch.push_back(std::move(m));
        }
    }

    // Offsets in RocksDB are only valid for the cluster they were read from:
    // an embedded broker is new at every start.
    void check_cluster(int timeout_ms = 10'000) {
        std::string current = consumer->clusterid(timeout_ms);
        auto read = store.cluster_id();
        if (!read) {
            fatal = read.error();
            return;
        }
        const std::string stored = read.value();
        if (current.empty()) return;  // cluster_known stays false; the caller says what follows
        cluster_known = true;
        if (stored == current) {
            spdlog::info("ingest: cluster {} matches the stored offsets; resuming from them", current);
            return;
        }
        if (stored.empty())
            spdlog::info("ingest: first run against cluster {}", current);
        else
            spdlog::warn("ingest: stored offsets belong to cluster {}, now connected to {}: ignoring them and "
                         "starting from the group's offsets (auto.offset.reset if none); state is kept",
                         stored, current);
        if (auto r = store.reset_offsets(current); !r) fatal = r.error();
    }
};

ingest_loop::ingest_loop(const kafka_options& kafka, const ingest_options& options, state::store& store,
                         batch_applier& applier, ingest_probe& probe)
    : impl_(std::make_unique<impl>(kafka, options, store, applier, probe)) {
    auto conf = make_conf(kafka, "consumer");
    std::string err;
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(impl_.get()), err) != RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(&impl_->events), err) != RdKafka::Conf::CONF_OK)
        throw std::invalid_argument(err);
    impl_->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!impl_->consumer) throw std::invalid_argument("kafka consumer: " + err);
    if (!kafka.items_topic.empty()) {
        auto catalog_conf = make_conf(kafka, "consumer");
        if (catalog_conf->set("event_cb", static_cast<RdKafka::EventCb*>(&impl_->events), err) != RdKafka::Conf::CONF_OK)
            throw std::invalid_argument(err);
        impl_->catalog.reset(RdKafka::KafkaConsumer::create(catalog_conf.get(), err));
        if (!impl_->catalog) throw std::invalid_argument("kafka catalog consumer: " + err);
    }
}

ingest_loop::~ingest_loop() {
    if (impl_->consumer) impl_->consumer->close();
    if (impl_->catalog) impl_->catalog->close();
}

void ingest_loop::drain_then_stop(std::chrono::milliseconds budget) {
    impl_->drain_budget_ms = std::max<std::int64_t>(0, budget.count());
}

bool ingest_loop::ready() const {
    return is_ready(impl_->assigned.load(), impl_->total_lag.load(), impl_->options.ready_max_lag);
}

core::result<void> ingest_loop::run(const std::atomic<bool>& stop) {
    auto& i = *impl_;
    // Up to 10 s for the brokers to answer (they may be starting too), a
    // second at a time so that a stop is not held up.
    for (int waited = 0; waited < 10 && !i.cluster_known && i.fatal && !stop.load(); ++waited) i.check_cluster(1'000);
    if (!i.fatal) return i.fatal;
    if (!i.cluster_known)
        spdlog::warn("ingest: could not read the Kafka cluster id; checking again before partitions are read");
    if (auto err = i.consumer->subscribe({i.kafka.events_topic}); err != RdKafka::ERR_NO_ERROR)
        return core::error{"kafka", "subscribe: " + RdKafka::err2str(err)};
    spdlog::info("ingest: subscribed to {} as group {}", i.kafka.events_topic, i.kafka.group_id);
    i.probe.offsets_skipped(i.kafka.events_topic, 0);  // a 0 series from the start, for alerts

    while (!stop.load(std::memory_order_relaxed) && i.fatal && !i.drained()) {
        // Short, so the stop flag stays responsive; shorter while a snapshot
        // is owed, so a quiet stream's last batch is served within
        // publish_interval rather than after the idle timeout.
        if (i.batch.empty()) i.close_reward_windows();
        i.note_unassigned();
        i.applier.publish();
        int wait_ms = 100;
        if (auto due = i.applier.publish_due_in()) wait_ms = std::min(wait_ms, int(due->count()));
        i.assign_catalog();
        i.drain_catalog();
        if (!i.batch.empty()) {
            auto left = i.options.batch_max_wait - (clock::now() - i.batch_started);
            wait_ms = std::min(wait_ms, int(std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count())));
        }
        std::unique_ptr<RdKafka::Message> m(i.consumer->consume(wait_ms));
        switch (m->err()) {
        case RdKafka::ERR_NO_ERROR:
            i.note_offset(*m);
            if (i.batch.empty()) i.batch_started = clock::now();
            i.batch.push_back(std::move(m));
            break;
        case RdKafka::ERR__TIMED_OUT:
            // A quiet stream: the last batch's offsets still reach the
            // group within group_commit_interval, not at the next event.
            if (i.batch.empty() && i.group_behind && clock::now() - i.last_group_commit >= impl::group_commit_interval)
                i.commit_group(false);
            i.update_lag();
            break;
        default:
            // Consumer errors are informational (librdkafka retries); only
            // fatal ones stop ingestion.
            i.probe.consumer_error();
            if (m->err() == RdKafka::ERR__FATAL) {
                std::string reason;
                i.consumer->fatal_error(reason);
                i.fatal = core::error{"kafka", "fatal consumer error: " + reason};
            } else {
                spdlog::warn("ingest: consumer: {}", m->errstr());
            }
        }
        if (!i.batch.empty() && (int(i.batch.size()) >= i.options.batch_max_messages ||
                                 clock::now() - i.batch_started >= i.options.batch_max_wait)) {
            i.flush();
            i.update_lag();
        }
    }
    // Never publish state that failed to commit.
    if (i.fatal && i.flush()) i.applier.publish(true);
    i.log_checkpoint(true);
    // Left only by a failure (a restart reads it again). Its messages hold
    // the consumer: destroying it first would wait for them forever.
    i.batch.clear();
    spdlog::info("ingest: leaving the group");
    i.consumer->close();  // revokes (flushing nothing left) and leaves the group
    i.consumer.reset();
    if (i.catalog) {
        i.catalog->close();
        i.catalog.reset();
    }
    return i.fatal;
}

}  // namespace marquee::stream
