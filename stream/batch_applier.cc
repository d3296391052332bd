#include "stream/batch_applier.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "core/decision_id.h"
#include "core/hash.h"

namespace marquee::stream {

batch_applier::batch_applier(state::store& store, engine::model& model,
                             core::snapshot_cell<engine::model_snapshot>& snapshots, dead_letter_sink* dlq,
                             ingest_probe& probe, applier_options options)
    : store_(store),
      model_(model),
      snapshots_(snapshots),
      dlq_(dlq),
      probe_(probe),
      options_(options),
      decoder_(options.decoder),
      catalog_decoder_(options.decoder),
      learner_(model) {}

core::result<engine::user_state*> batch_applier::user(std::string_view id) {
    if (auto it = users_.find(id); it != users_.end()) return &it->second;
    // A read error must stop the batch, never silently reset the user.
    auto stored = store_.get_user(id);
    if (!stored) return stored.error();
    engine::user_state loaded;
    if (stored.value()) loaded = std::move(*stored.value());
    return &users_.emplace(std::string(id), std::move(loaded)).first->second;
}

core::result<void> batch_applier::dead_letter(const raw_message& m, const core::error& why) {
    if (!dlq_) return core::success();
    if (auto sent = dlq_->send(m, why); !sent) return sent.error();
    probe_.dead_lettered();
    return core::success();
}

// A catalog record changes the item row alone; it is committed with the
// rest of the batch (and its offset), so availability is exactly-once too.
core::result<void> batch_applier::apply_catalog(const raw_message& m, batch_stats& stats) {
    auto decoded = catalog_decoder_.decode(m.key, m.payload);
    if (!decoded) {
        ++stats.invalid;
        probe_.catalog_invalid(decoded.error().reason);
        return dead_letter(m, decoded.error());
    }
    touched_.item_rows.insert(model_.apply_catalog(decoded.value(), m.back_catalogue));
    probe_.catalog_applied();
    ++stats.catalog;
    return core::success();
}

core::result<batch_stats> batch_applier::apply(std::span<const raw_message> messages) {
    const auto started = std::chrono::steady_clock::now();
    // Bounded memory: a full cache is dropped between batches, never inside
    // one (references into it are live while a batch applies).
    if (users_.size() > options_.user_cache_size) users_.clear();

    batch_stats stats;
    touched_.clear();
    std::vector<std::string> batch_users;
    decision_map decisions;
    struct partition_progress {
        std::int64_t next_offset = 0;
        std::int64_t event_time = 0;  // latest applied
    };
    std::map<std::pair<std::string_view, std::int32_t>, partition_progress> partitions;

    for (const auto& m : messages) {
        auto& progress = partitions[{m.topic, m.partition}];
        // The last record's, not the largest: a log that went back mid-batch
        // (topic re-created, truncated) resumes after its new records.
        progress.next_offset = m.offset + 1;

        if (m.topic == options_.items_topic) {
            // Invalid records are counted and dead-lettered inside.
            if (auto r = apply_catalog(m, stats); !r) return r.error();
            continue;
        }

        auto decoded = decoder_.decode(m.payload, m.timestamp_ms);
        if (!decoded) {
            ++stats.invalid;
            probe_.event_invalid(decoded.error().reason);
            if (auto r = dead_letter(m, decoded.error()); !r) return r.error();
            continue;
        }
        events::event& e = decoded.value();
        // An event cannot happen after its record was written: a ts ahead of
        // the record's (a producer clock running fast, up to
        // max_ts_ahead_ms) is taken as the record's. Otherwise it would move
        // the model's clock ahead for good (new releases age early, every
        // popularity decays) and make a partition with a backlog look past
        // reward windows its clicks still wait for.
        if (m.timestamp_ms > 0) e.ts_ms = std::min(e.ts_ms, m.timestamp_ms);
        progress.event_time = std::max(progress.event_time, e.ts_ms);

        auto u = user(e.user_id);
        if (!u) return u.error();
        batch_users.push_back(e.user_id);
        if (!e.event_id.empty() && !u.value()->remember_event(core::hash64(e.event_id))) {
            probe_.duplicate();  // a producer retry: applied the first time
            ++stats.duplicates;
            continue;
        }

        engine::pending_decision* decision = nullptr;
        bool in_window = false;
        const engine::pending_decision* other_users = nullptr;
        if (!e.decision_id.empty()) {
            auto it = decisions.find(e.decision_id);
            if (it == decisions.end()) {
                auto stored = store_.get_decision(e.decision_id);
                if (!stored) return stored.error();
                if (stored.value()) it = decisions.emplace(e.decision_id, std::move(*stored.value())).first;
            }
            if (it != decisions.end()) decision = &it->second;
            // Another user's decision: crediting it would teach the bandit
            // with that user's features (a producer bug, or a forged id).
            if (decision && decision->user_id != e.user_id) other_users = std::exchange(decision, nullptr);
        } else if (options_.rewards.window.count() > 0 && engine::is_positive_response(e, options_.rewards)) {
            auto found = window_decision(e, decisions);
            if (!found) return found.error();
            decision = found.value();
            in_window = decision != nullptr;
        }

        auto outcome = learner_.apply(e, *u.value(), decision, touched_);
        probe_.event_applied(e.type);
        ++stats.applied;
        const auto policy = decision ? bandits::to_string(decision->policy) : std::string_view("unknown");
        switch (outcome) {
        case engine::reward_outcome::none:
            if (other_users) {
                if (engine::reward_of(e)) probe_.reward(bandits::to_string(other_users->policy), "wrong_user");
            } else if (!e.decision_id.empty() && !decision) {
                const auto reward = engine::reward_of(e);
                if (reward && foreign_rewards_) {
                    auto owned = foreign_rewards_(e, *reward);
                    if (!owned) return owned.error();
                    if (owned.value()) break;
                }
                // Another instance's decision (it holds the features) is not
                // an unknown one: replicas each read every reward.
                probe_.reward(policy, core::other_instance(e.decision_id, store_.instance_tag()) ? "other_instance"
                                                                                                 : "unknown_decision");
            }
            break;
        case engine::reward_outcome::applied:
            probe_.reward(policy, in_window ? "window" : "applied", engine::reward_of(e).value_or(0.0));
            break;
        case engine::reward_outcome::unknown_item: probe_.reward(policy, "unknown_item"); break;
        case engine::reward_outcome::already_rewarded: probe_.reward(policy, "duplicate"); break;
        case engine::reward_outcome::stale_features: probe_.reward(policy, "stale_features"); break;
        case engine::reward_outcome::rejected: probe_.reward(policy, "rejected"); break;
        }
    }

    model_.bump_version();
    auto changes = store_.begin();
    std::sort(batch_users.begin(), batch_users.end());
    batch_users.erase(std::unique(batch_users.begin(), batch_users.end()), batch_users.end());
    for (const auto& id : batch_users) changes.put_user(id, users_.find(id)->second);
    // Key order: RocksDB's memtable skiplist inserts a sorted run from the
    // previous insert's position instead of searching from the top, which
    // was the single largest ingest cost in profiles.
    sorted_rows_.assign(touched_.item_rows.begin(), touched_.item_rows.end());
    std::sort(sorted_rows_.begin(), sorted_rows_.end(),
              [&](auto a, auto b) { return model_.items().id(a) < model_.items().id(b); });
    for (auto row : sorted_rows_) changes.put_item(model_, row);
    if (touched_.bandit) changes.put_bandit(model_);
    // Kept until its window closes even when every item is rewarded: a
    // client retrying POST /v1/rewards (its answer lost) must find the
    // decision again, and its reward event is then a duplicate, not a 404.
    for (const auto& [id, d] : decisions) changes.put_decision(id, d);
    for (const auto& [tp, p] : partitions) changes.put_offset({std::string(tp.first), tp.second, p.next_offset});
    changes.put_model_meta(model_);
    // These offsets pass the invalid records: commit them only once the
    // copies are safely in the dead-letter topic.
    if (stats.invalid > 0 && dlq_)
        if (auto delivered = dlq_->confirm(); !delivered) return delivered.error();
    if (auto committed = store_.commit(changes); !committed) return committed.error();

    for (const auto& [tp, p] : partitions) {
        auto& latest = event_times_[{std::string(tp.first), tp.second}];
        latest = std::max(latest, p.event_time);
    }
    unpublished_ = true;
    publish();
    probe_.batch_committed(messages.size(),
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return stats;
}

core::result<engine::pending_decision*> batch_applier::window_decision(const events::event& e,
                                                                      decision_map& decisions) {
    // The user answers the latest list that showed the item (an item not
    // clicked stays eligible for later lists). Once that showing is
    // rewarded, a second response (a like after the click) is not passed on
    // to an older list, whose features the user did not answer.
    engine::pending_decision* answered = nullptr;
    auto visited = store_.user_decisions(
        e.user_id, e.ts_ms - options_.rewards.window.count(), e.ts_ms, [&](state::store::stored_decision&& d) {
            // This batch's copy, if it has one, knows the latest rewards.
            auto it = decisions.find(d.id);
            const auto& current = it != decisions.end() ? it->second : d.decision;
            const auto shown = std::ranges::find(current.items, e.item_id, &engine::pending_decision::shown_item::item_id);
            if (shown == current.items.end()) return true;
            if (!shown->rewarded) {
                if (it == decisions.end()) it = decisions.emplace(std::move(d.id), std::move(d.decision)).first;
                answered = &it->second;
            }
            return false;
        });
    if (!visited) return visited.error();
    return answered;
}

std::int64_t batch_applier::applied_event_time(std::string_view topic, std::int32_t partition) const {
    auto it = event_times_.find(std::pair(std::string(topic), partition));
    return it == event_times_.end() ? 0 : it->second;
}

core::result<std::size_t> batch_applier::close_reward_windows(std::int64_t now_ms, std::size_t limit,
                                                              std::optional<std::int64_t> stream_ms) {
    const auto& rewards = options_.rewards;
    const std::int64_t window = rewards.window.count();
    const std::int64_t ttl = std::max(rewards.decision_ttl.count(), window);
    // Closed: served before now - window, and the applied stream is past
    // the window too, unless the decision outlived its TTL.
    const std::int64_t applied = stream_ms.value_or(model_.clock_ms());
    const std::int64_t cutoff = std::min(now_ms - window, std::max(applied - window, now_ms - ttl));
    auto due = store_.decisions_served_before(cutoff, limit);
    if (!due) return due.error();
    if (due.value().empty()) return std::size_t(0);
    // Put back if the write fails: a later publish must not serve default
    // rewards no store holds.
    const auto bandit_before = model_.bandit();
    const auto version_before = model_.version();
    auto changes = store_.begin();
    for (const auto& [id, d] : due.value()) {
        for (const auto& shown : d.items) {
            if (shown.rewarded || !d.features_current) continue;
            if (model_.bandit().update(shown.features, rewards.default_reward))
                probe_.reward(bandits::to_string(d.policy), "default", rewards.default_reward);
            else
                probe_.reward(bandits::to_string(d.policy), "rejected");
        }
        changes.erase_decision(id, d);
    }
    // The bandit changed and the decisions are gone in one write, so a crash
    // cannot apply a default reward twice.
    model_.bump_version();
    changes.put_bandit(model_);
    changes.put_model_meta(model_);
    if (auto committed = store_.commit(changes); !committed) {
        model_.bandit() = bandit_before;
        model_.set_version(version_before);
        return committed.error();
    }
    unpublished_ = true;
    publish();
    return due.value().size();
}

std::optional<std::chrono::milliseconds> batch_applier::publish_due_in() const {
    if (!unpublished_) return std::nullopt;
    const auto left = publish_gap_ - (std::chrono::steady_clock::now() - last_publish_);
    return std::max(std::chrono::milliseconds(0), std::chrono::ceil<std::chrono::milliseconds>(left));
}

void batch_applier::publish(bool force) {
    if (!unpublished_ && !force) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_publish_ < publish_gap_) return;
    auto previous = snapshots_.load();
    snapshots_.store(engine::take_snapshot(model_, options_.snapshot, previous.get()));
    const auto took = std::chrono::steady_clock::now() - now;
    probe_.snapshot_published(std::chrono::duration<double>(took).count());
    publish_gap_ = std::max<std::chrono::steady_clock::duration>(options_.publish_interval,
                                                                 applier_options::publish_cost_ratio * took);
    last_publish_ = now;
    unpublished_ = false;
}

}  // namespace marquee::stream
