#include "serve/rank_service.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "bandits/features.h"
#include "core/byte_io.h"
#include "core/hash.h"
#include "core/json_writer.h"
#include "events/event_decoder.h"
#include "serve/decision_id.h"
#include "serve/decision_log_metrics.h"

namespace marquee::serve {

std::string_view to_string(reward_outcome o) {
    switch (o) {
    case reward_outcome::applied: return "applied";
    case reward_outcome::duplicate: return "duplicate";
    case reward_outcome::unknown_decision: return "unknown_decision";
    case reward_outcome::unknown_item: return "unknown_item";
    case reward_outcome::rejected: return "rejected";
    case reward_outcome::wrong_user: return "wrong_user";
    }
    return "unknown";
}

namespace {

constexpr std::string_view model_key = "model", bits_key = "bits";
// Rewards since the last checkpoint: "log/" + 20-digit sequence (= the
// model's update count after applying it), so key order is update order.
constexpr std::string_view log_prefix = "log/", log_end = "log0";  // '0' follows '/'

std::string decision_key(std::string_view id) { return "d/" + std::string(id); }

// Default rewards a window-closing pass applies before it ends with the
// decision in hand (each costs O(d^2), ~50 us at the default d = 260).
constexpr std::size_t max_default_rewards_per_pass = 64;

// "t/" + big-endian ranking time + id: decisions in the order they expire.
constexpr std::string_view time_prefix = "t/";
std::string time_key(std::int64_t ts_ms, std::string_view id) {
    std::string k(time_prefix);
    core::append_ordered(k, ts_ms);
    k += id;
    return k;
}
std::int64_t time_of(std::string_view key) { return core::read_ordered(key.data() + time_prefix.size()); }

// A rank decision as stored: what each shown candidate looked like to the
// model (sparse x) and its propensity, so a reward can update the model
// however long after ranking it arrives.
struct stored_decision {
    struct item {
        std::string id;
        double propensity = 0.0;
        bool rewarded = false;
        double reward = 0.0;
        bandits::sparse_x x;
    };
    std::string user_id;
    std::int64_t ts_ms = 0;
    std::uint8_t policy = 0;
    std::vector<item> items;
};

// Layout v1 (host byte order): u8 1, str user, i64 ts, u8 policy, u32 n, then
// per item: str id, f64 propensity, u8 rewarded, f64 reward, u32 nnz,
// nnz x (u32 index, f64 value). str = u32 length + bytes.
std::string encode(const stored_decision& d) {
    core::byte_writer w;
    w.put(std::uint8_t(1));
    w.put_string(d.user_id);
    w.put(d.ts_ms);
    w.put(d.policy);
    w.put(std::uint32_t(d.items.size()));
    for (const auto& i : d.items) {
        w.put_string(i.id);
        w.put(i.propensity);
        w.put(std::uint8_t(i.rewarded));
        w.put(i.reward);
        w.put(std::uint32_t(i.x.size()));
        for (const auto& f : i.x) {
            w.put(f.index);
            w.put(f.value);
        }
    }
    return w.take();
}

core::result<stored_decision> decode(std::string_view bytes) {
    const core::error corrupt{"corrupt_state", "rank decision: truncated or bad version"};
    core::byte_reader in(bytes);
    stored_decision d;
    std::uint8_t version = 0;
    std::uint32_t n = 0;
    if (!in.get(version) || version != 1) return corrupt;
    if (!in.get_string(d.user_id) || !in.get(d.ts_ms) || !in.get(d.policy) || !in.get(n)) return corrupt;
    for (std::uint32_t k = 0; k < n; ++k) {
        stored_decision::item i;
        std::uint8_t rewarded = 0;
        std::uint32_t nnz = 0;
        if (!in.get_string(i.id) || !in.get(i.propensity) || !in.get(rewarded) || !in.get(i.reward) ||
            !in.get(nnz) || in.remaining() < std::size_t(nnz) * 12)
            return corrupt;
        i.rewarded = rewarded != 0;
        i.x.resize(nnz);
        for (auto& f : i.x) {
            in.get(f.index);
            in.get(f.value);
        }
        d.items.push_back(std::move(i));
    }
    if (!in.done()) return corrupt;
    return d;
}

std::string log_key(std::uint64_t seq) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "log/%020llu", (unsigned long long)seq);
    return buf;
}

// A log record: f64 reward, u32 nnz, nnz x (u32 index, f64 value).
std::string encode_log(const bandits::sparse_x& x, double reward) {
    core::byte_writer w;
    w.put(reward);
    w.put(std::uint32_t(x.size()));
    for (const auto& f : x) {
        w.put(f.index);
        w.put(f.value);
    }
    return w.take();
}

bool decode_log(std::string_view bytes, bandits::sparse_x& x, double& reward) {
    core::byte_reader in(bytes);
    std::uint32_t nnz = 0;
    if (!in.get(reward) || !in.get(nnz) || in.remaining() != std::size_t(nnz) * 12) return false;
    x.resize(nnz);
    for (auto& f : x) {
        in.get(f.index);
        in.get(f.value);
    }
    return true;
}

// A stored x's terms inside the model's `dim` (all of them unless the
// record is damaged: start-up refuses a model of other bits).
bandits::sparse_x within(const bandits::sparse_x& x, int dim) {
    bandits::sparse_x out;
    for (const auto& f : x)
        if (int(f.index) < dim) out.push_back(f);
    return out;
}

// The first numeric feature that is not finite or beyond max_feature_value,
// or null.
const bandits::named_feature* out_of_range(const std::vector<bandits::named_feature>& features) {
    for (const auto& f : features)
        if (const auto* v = std::get_if<double>(&f.value); v && !(std::abs(*v) <= max_feature_value)) return &f;
    return nullptr;
}

std::size_t term_count(const std::vector<bandits::named_feature>& features) {
    std::size_t n = 0;
    for (const auto& f : features) {
        if (const auto* tags = std::get_if<std::vector<std::string>>(&f.value)) n += tags->size();
        else ++n;
    }
    return n;
}

}  // namespace

void append_ranked_items_json(std::string& out, std::span<const ranked_item> items) {
    out += "[";
    for (std::size_t k = 0; k < items.size(); ++k) {
        if (k) out += ",";
        out += "{\"id\":";
        core::append_json_string(out, items[k].id);
        out += ",\"score\":";
        core::append_json_number(out, items[k].score);
        out += ",\"propensity\":";
        core::append_json_number(out, items[k].propensity);
        out += items[k].explored ? ",\"explored\":true}" : ",\"explored\":false}";
    }
    out += "]";
}

struct rank_service::impl {
    rank_options options;
    state::store& store;
    core::snapshot_cell<engine::model_snapshot>* snapshots;
    core::message_sink* decisions;
    std::function<std::string()> new_id;
    mutable std::mutex mutex;
    bandits::rank_model model;
    // Scratch, reused under the mutex.
    std::vector<bandits::hashed_feature> hashed;
    std::vector<bandits::sparse_x> xs;

    // Series resolved once, as the recommendations route does: by policy_kind
    // and by reward_outcome value, then the window's default rewards.
    std::array<prometheus::Counter*, bandits::all_policy_kinds.size()> decided{};
    std::array<prometheus::Counter*, std::size_t(reward_outcome::wrong_user) + 1> rewarded{};
    prometheus::Counter* defaulted_rewards = nullptr;
    prometheus::Counter* unreadable_decisions = nullptr;
    prometheus::Counter* store_errors;
    prometheus::Counter* log_errors;

    impl(rank_options o, state::store& s, core::snapshot_cell<engine::model_snapshot>* snaps,
         core::message_sink* d, prometheus::Registry& registry, std::function<std::string()> id)
        : options(o), store(s), snapshots(snaps), decisions(d), new_id(std::move(id)), model(o.model) {
        if (options.model.bits < 1 || options.model.bits > 12)
            throw std::invalid_argument("rank.bits must be 1 to 12 (the model is (2^bits + 4)^2 doubles)");
        if (!new_id) new_id = [&s] { return new_decision_id(s.instance_tag()); };
        // The hashed space the stored model and log were written in.
        auto bits = store.get_rank(bits_key);
        if (!bits) throw std::runtime_error("reading the rank model: " + bits.error().message);
        const std::string mine = std::to_string(options.model.bits);
        if (bits.value() && *bits.value() != mine)
            throw std::runtime_error("the stored rank model has bits " + *bits.value() + " but rank.bits is " + mine);
        if (!bits.value()) {
            const std::pair<std::string_view, std::string_view> entry{bits_key, mine};
            if (auto r = store.put_rank(std::span(&entry, 1)); !r)
                throw std::runtime_error("writing the rank model: " + r.error().message);
        }
        // Writes the model as it is now and clears the reward log, whose
        // sequence numbers then start afresh from the model's update count.
        auto checkpoint_and_clear_log = [&] {
            const std::string checkpoint = model.serialize();
            const std::pair<std::string_view, std::string_view> entry{model_key, checkpoint};
            if (auto r = store.put_rank(std::span(&entry, 1), log_prefix, log_end); !r)
                throw std::runtime_error("writing the rank model: " + r.error().message);
        };
        auto bytes = store.get_rank(model_key);
        if (!bytes) throw std::runtime_error("reading the rank model: " + bytes.error().message);
        if (bytes.value()) {
            auto m = bandits::rank_model::deserialize(*bytes.value(), options.model);
            if (m) {
                model = std::move(m).value();
            } else if (m.error().reason == "non_finite") {
                // It scores every candidate NaN, and its reward log only extends it.
                spdlog::error("rank: the stored model holds a NaN or infinity; it starts again from its prior and "
                              "its reward log is dropped");
                checkpoint_and_clear_log();
            } else {
                throw std::runtime_error("loading the rank model: " + m.error().message);
            }
        }
        // Replay the rewards logged since that checkpoint, in order.
        bandits::sparse_x x;
        bool corrupt = false;
        std::size_t refused = 0;
        auto replayed = store.scan_rank(log_prefix, [&](std::string_view key, std::string_view value) {
            double r = 0;
            if (!decode_log(value, x, r)) return !(corrupt = true);
            for (const auto& f : x)
                if (int(f.index) >= model.dim()) return !(corrupt = true);
            const auto seq = std::strtoull(std::string(key.substr(log_prefix.size())).c_str(), nullptr, 10);
            if (seq > model.updates() && !model.update(x, r)) ++refused;
            return true;
        });
        if (!replayed) throw std::runtime_error("reading the rank reward log: " + replayed.error().message);
        if (corrupt) throw std::runtime_error("the rank reward log is corrupt");
        if (refused > 0) {
            // Only a log written before the model refused non-finite inputs
            // holds such records. Checkpoint now: the log's sequence numbers
            // no longer match the model's update count.
            spdlog::warn("rank: the reward log held {} non-finite rewards; the model refused them", refused);
            checkpoint_and_clear_log();
        }
        if (options.checkpoint_every < 1) throw std::invalid_argument("rank.checkpoint_every must be at least 1");
        auto& decisions_family = prometheus::BuildCounter()
                                     .Name("marquee_rank_decisions_total")
                                     .Help("POST /v1/rank decisions served, by policy")
                                     .Register(registry);
        auto& rewards_family = prometheus::BuildCounter()
                                   .Name("marquee_rank_rewards_total")
                                   .Help("Rewards for rank decisions, by outcome")
                                   .Register(registry);
        // Every label value up front, so each series exists from the start.
        for (auto k : bandits::all_policy_kinds)
            decided[std::size_t(k)] = &decisions_family.Add({{"policy", std::string(to_string(k))}});
        // Not unknown_decision: the service cannot tell a rank decision it
        // no longer holds from a recommendation's (every reward is offered
        // here first); where the reward ends up counts it.
        for (auto o : {reward_outcome::applied, reward_outcome::duplicate, reward_outcome::unknown_item,
                       reward_outcome::rejected, reward_outcome::wrong_user})
            rewarded[std::size_t(o)] = &rewards_family.Add({{"outcome", std::string(to_string(o))}});
        defaulted_rewards = &rewards_family.Add({{"outcome", "default"}});
        unreadable_decisions = &rewards_family.Add({{"outcome", "unreadable"}});
        store_errors = &decision_log_errors(registry, decision_log_stage::store);
        log_errors = &decision_log_errors(registry, decision_log_stage::log);
    }

    // What the snapshot knows about a catalog item, for this user.
    bandits::known_signals known_for(const engine::model_snapshot* s, const std::vector<float>* user,
                                     std::string_view item_id) const {
        bandits::known_signals k;
        if (!s || !s->index) return k;
        auto row = s->index->find(item_id);
        if (!row || *row >= s->item_count()) return k;
        k.known = true;
        k.popularity = *row < s->popularity.size() ? double(s->popularity[*row]) : 0.0;
        k.recency = bandits::recency(s->age_days(*row));
        if (user && int(user->size()) == s->dim && Eigen::Index(*row) < s->embeddings.rows()) {
            double dot = 0.0;
            for (int j = 0; j < s->dim; ++j) dot += double((*user)[j]) * double(s->embeddings(*row, j));
            k.affinity = dot;
        }
        return k;
    }

    // What persists the model updates `applied` made since `updates_before`,
    // in order: the checkpoint they reach (its write clears the log, which it
    // makes redundant), or else one log record each ("log/" + the update count
    // after it, as start-up replays them).
    struct model_change {
        bool checkpoint = false;
        std::vector<std::pair<std::string, std::string>> records;
    };
    model_change persist(std::uint64_t updates_before,
                         std::span<const std::pair<bandits::sparse_x, double>> applied) const {
        model_change c;
        const auto every = std::uint64_t(options.checkpoint_every);
        c.checkpoint = model.updates() / every != updates_before / every;
        if (c.checkpoint) {
            c.records.emplace_back(model_key, model.serialize());
            return c;
        }
        for (std::size_t n = 0; n < applied.size(); ++n)
            c.records.emplace_back(log_key(updates_before + n + 1), encode_log(applied[n].first, applied[n].second));
        return c;
    }

    void log(std::string_view key, const std::string& json) {
        if (!decisions) return;
        if (auto r = decisions->send(key, json); !r) log_errors->Increment();
    }

    // Last member: stopped (and joined) before anything above is destroyed.
    std::jthread closer;
};

rank_service::rank_service(rank_options options, state::store& store,
                           core::snapshot_cell<engine::model_snapshot>* snapshots, core::message_sink* decisions,
                           prometheus::Registry& registry, std::function<std::string()> new_id)
    : impl_(std::make_unique<impl>(options, store, snapshots, decisions, registry, std::move(new_id))) {
    if (impl_->options.close_every.count() <= 0) return;
    impl_->closer = std::jthread([this](std::stop_token stop) {
        std::mutex m;
        std::condition_variable_any cv;
        while (!stop.stop_requested()) {
            std::unique_lock lock(m);
            cv.wait_for(lock, stop, impl_->options.close_every, [] { return false; });
            if (stop.stop_requested()) break;
            if (auto closed = close_due_windows(core::wall_clock_ms(), 256, stop); !closed)
                spdlog::warn("rank: closing reward windows: {}", closed.error().message);
        }
    });
}

core::result<std::size_t> rank_service::close_due_windows(std::int64_t now_ms, std::size_t per_pass,
                                                          std::stop_token stop) {
    std::size_t total = 0;
    for (;;) {
        auto closed = close_windows(now_ms, per_pass);
        if (!closed) return closed.error();
        total += closed.value();
        if (closed.value() == 0 || stop.stop_requested()) return total;
    }
}

rank_service::~rank_service() {
    // The closer thread uses impl_: stop it while everything is intact.
    impl_->closer.request_stop();
    if (impl_->closer.joinable()) impl_->closer.join();
}

const rank_options& rank_service::options() const { return impl_->options; }

std::uint64_t rank_service::model_version() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.updates();
}

core::result<rank_response> rank_service::rank(const rank_request& request, std::int64_t now_ms) {
    auto& i = *impl_;
    const auto& o = i.options;
    auto invalid = [](std::string message) { return core::error{"invalid_parameter", std::move(message)}; };
    const int n = int(request.candidates.size());
    if (n < 1 || n > o.max_candidates)
        return invalid("candidates must hold 1 to " + std::to_string(o.max_candidates) + " items");
    if (request.k < 1 || request.k > n)
        return invalid("k must be an integer from 1 to the number of candidates (" + std::to_string(n) + ")");
    if (request.epsilon && !(*request.epsilon >= 0.0 && *request.epsilon <= 1.0))
        return invalid("explore must be a number in [0, 1]");
    if (term_count(request.context) > std::size_t(o.max_features))
        return invalid("context has more than " + std::to_string(o.max_features) + " features (tags count one each)");
    static const std::string range = [] {
        std::string bound;
        core::append_json_number(bound, max_feature_value);
        return " must be a finite number from -" + bound + " to " + bound + " (scale features to about [0, 1])";
    }();
    if (const auto* f = out_of_range(request.context))
        return invalid("context feature '" + f->name + "'" + range);
    std::unordered_set<std::string_view> ids;
    for (const auto& c : request.candidates) {
        if (c.id.empty() || c.id.size() > events::default_max_id_bytes)
            return invalid("candidate ids must be 1 to " + std::to_string(events::default_max_id_bytes) + " bytes");
        if (!ids.insert(c.id).second) return invalid("candidate id '" + c.id + "' appears twice");
        if (term_count(c.features) > std::size_t(o.max_features))
            return invalid("candidate '" + c.id + "' has more than " + std::to_string(o.max_features) + " features");
        if (const auto* f = out_of_range(c.features))
            return invalid("candidate '" + c.id + "' feature '" + f->name + "'" + range);
    }

    // Outside the lock: the snapshot and the user's row (thread-safe reads).
    std::shared_ptr<const engine::model_snapshot> snapshot = i.snapshots ? i.snapshots->load() : nullptr;
    std::optional<engine::user_state> user;
    if (!request.user_id.empty() && snapshot) {
        auto u = i.store.get_user(request.user_id);
        if (!u) return u.error();  // 503, as for recommendations: not an anonymous user
        if (u.value()) user = std::move(*u.value());
    }
    const std::vector<float>* embedding = user && !user->embedding.empty() ? &user->embedding : nullptr;

    bandits::slate_options slate;
    slate.k = request.k;
    slate.policy = request.policy.value_or(o.policy);
    slate.epsilon = request.epsilon.value_or(o.epsilon);
    slate.thompson_propensity_draws = o.thompson_propensity_draws;

    rank_response out;
    out.decision_id = i.new_id();
    out.policy = slate.policy;
    stored_decision record;
    record.user_id = request.user_id;
    record.ts_ms = now_ms;
    record.policy = std::uint8_t(slate.policy);
    {
        std::lock_guard lock(i.mutex);
        i.xs.resize(std::size_t(n));
        const auto hashing = o.model.hashing();
        for (int c = 0; c < n; ++c) {
            bandits::hash_features(request.context, request.candidates[c].features, hashing, i.hashed);
            i.model.encode(i.hashed, i.known_for(snapshot.get(), embedding, request.candidates[c].id), i.xs[c]);
        }
        auto slots = i.model.choose(std::span<const bandits::sparse_x>(i.xs.data(), std::size_t(n)), slate,
                                    core::hash64(out.decision_id, o.seed));
        out.model_version = i.model.updates();
        for (const auto& s : slots) {
            const auto& c = request.candidates[s.candidate];
            out.items.push_back({c.id, s.score, s.propensity, s.explored});
            record.items.push_back({c.id, s.propensity, false, 0.0, i.xs[s.candidate]});
        }
    }
    // Recorded before answering, so a reward can always find it.
    const std::string key = decision_key(out.decision_id), bytes = encode(record),
                      expiry = time_key(now_ms, out.decision_id);
    const std::pair<std::string_view, std::string_view> entries[] = {{key, bytes}, {expiry, {}}};
    if (auto r = i.store.put_rank(entries); !r) {
        i.store_errors->Increment();
        return core::error{"storage", "recording the rank decision: " + r.error().message};
    }
    i.decided[std::size_t(out.policy)]->Increment();

    std::string log = "{\"kind\":\"rank\",\"decision_id\":";
    core::append_json_string(log, out.decision_id);
    if (!request.user_id.empty()) {
        log += ",\"user_id\":";
        core::append_json_string(log, request.user_id);
    }
    log += ",\"policy\":";
    core::append_json_string(log, to_string(out.policy));
    log += ",\"model_version\":" + std::to_string(out.model_version) + ",\"ts\":" + std::to_string(now_ms) +
           ",\"items\":";
    append_ranked_items_json(log, out.items);
    log += "}";
    i.log(request.user_id.empty() ? std::string_view(out.decision_id) : std::string_view(request.user_id), log);
    return out;
}

core::result<std::size_t> rank_service::close_windows(std::int64_t now_ms, std::size_t limit) {
    auto& i = *impl_;
    const std::int64_t cutoff = now_ms - i.options.reward_window.count();
    std::lock_guard lock(i.mutex);
    std::vector<std::string> time_keys, ids;
    auto scanned = i.store.scan_rank(time_prefix, [&](std::string_view key, std::string_view) {
        if (key.size() < time_prefix.size() + 8 || time_of(key) >= cutoff || ids.size() >= limit) return false;
        time_keys.emplace_back(key);
        ids.emplace_back(key.substr(time_prefix.size() + 8));
        return true;
    });
    if (!scanned) return scanned.error();
    std::size_t defaulted = 0, refused = 0, unreadable = 0, closed = 0;
    const std::uint64_t updates_before = i.model.updates();
    std::vector<std::pair<bandits::sparse_x, double>> applied;  // to revert if nothing is written
    std::vector<std::string> erased;                            // time and decision keys
    auto revert = [&] {
        for (auto it = applied.rbegin(); it != applied.rend(); ++it) i.model.revert(it->first, it->second);
    };
    // Rank and reward requests wait on this lock on the HTTP thread: a pass
    // stops after the decision that reaches the budget (the next pass closes
    // the rest), so it holds the lock for milliseconds, not a second.
    for (; closed < ids.size() && defaulted < max_default_rewards_per_pass; ++closed) {
        const std::string key = decision_key(ids[closed]);
        erased.push_back(time_keys[closed]);
        erased.push_back(key);
        auto bytes = i.store.get_rank(key);
        if (!bytes) {
            revert();  // the next pass applies them again
            return bytes.error();
        }
        if (!bytes.value()) continue;
        auto d = decode(*bytes.value());
        if (!d) {
            // It would fail every pass and hold up every window behind it.
            ++unreadable;
            spdlog::error("rank: the stored decision '{}' is unreadable ({}); erasing it, its items unrewarded",
                          ids[closed], d.error().message);
            continue;
        }
        for (const auto& item : d.value().items) {
            if (item.rewarded) continue;
            auto x = within(item.x, i.model.dim());
            if (!i.model.update(x, i.options.default_reward)) {
                ++refused;  // the decision is erased all the same: it can never be learned from
                continue;
            }
            applied.emplace_back(std::move(x), i.options.default_reward);
            ++defaulted;
        }
    }
    if (closed == 0) return std::size_t(0);
    // The default rewards, as log records (or the checkpoint they reach, as
    // a reward's), and the erased decisions commit together: a crash cannot
    // apply them twice.
    const auto change = i.persist(updates_before, applied);
    std::vector<std::pair<std::string_view, std::string_view>> entries(change.records.begin(), change.records.end());
    auto r = change.checkpoint ? i.store.put_rank(entries, log_prefix, log_end, erased)
                               : i.store.put_rank(entries, {}, {}, erased);
    if (!r) {
        revert();
        return r.error();
    }
    if (defaulted > 0) i.defaulted_rewards->Increment(double(defaulted));
    if (unreadable > 0) i.unreadable_decisions->Increment(double(unreadable));
    if (refused > 0) {
        i.rewarded[std::size_t(reward_outcome::rejected)]->Increment(double(refused));
        spdlog::warn("rank: the model refused {} default rewards of expired decisions (non-finite features)", refused);
    }
    return closed;
}

core::result<reward_outcome> rank_service::reward(std::string_view decision_id, std::string_view item_id,
                                                  double value, std::int64_t now_ms, std::string_view rewarding_user) {
    auto& i = *impl_;
    if (!(value >= 0.0 && value <= 1.0)) return core::error{"invalid_parameter", "reward must be a number in [0, 1]"};
    const std::string key = decision_key(decision_id);
    reward_outcome outcome = reward_outcome::applied;
    std::string user_id;
    // Most rewards name recommendation decisions, unknown here: they are
    // told so without waiting for the lock a window-closing pass may hold.
    auto exists = i.store.get_rank(key);
    if (!exists) return exists.error();
    if (!exists.value()) {
        outcome = reward_outcome::unknown_decision;
    } else {
        std::lock_guard lock(i.mutex);
        auto bytes = i.store.get_rank(key);  // again: a reward or a close may have changed it since
        if (!bytes) return bytes.error();
        if (!bytes.value()) {
            outcome = reward_outcome::unknown_decision;
        } else {
            auto d = decode(*bytes.value());
            if (!d) return d.error();
            auto& record = d.value();
            user_id = record.user_id;
            stored_decision::item* item = nullptr;
            for (auto& it : record.items)
                if (it.id == item_id) item = &it;
            if (!rewarding_user.empty() && !record.user_id.empty() && rewarding_user != record.user_id) {
                outcome = reward_outcome::wrong_user;
            } else if (!item) {
                outcome = reward_outcome::unknown_item;
            } else if (item->rewarded) {
                outcome = reward_outcome::duplicate;
            } else if (const auto x = within(item->x, i.model.dim()); !i.model.update(x, value)) {
                outcome = reward_outcome::rejected;
                spdlog::warn("rank: the model refused the reward for item '{}' of decision '{}' (non-finite features)",
                             item_id, decision_id);
            } else {
                item->rewarded = true;
                item->reward = value;
                const std::pair<bandits::sparse_x, double> update{x, value};
                const auto change = i.persist(i.model.updates() - 1, std::span(&update, 1));
                const std::string decision_bytes = encode(record);
                std::vector<std::pair<std::string_view, std::string_view>> entries(change.records.begin(),
                                                                                   change.records.end());
                entries.emplace_back(key, decision_bytes);
                if (auto r = change.checkpoint ? i.store.put_rank(entries, log_prefix, log_end)
                                               : i.store.put_rank(entries);
                    !r) {
                    // Not durable: put the model back, so a retry applies it once.
                    i.model.revert(x, value);
                    return r.error();
                }
            }
        }
    }
    if (outcome != reward_outcome::unknown_decision) {
        i.rewarded[std::size_t(outcome)]->Increment();
        std::string log = "{\"kind\":\"rank_reward\",\"decision_id\":";
        core::append_json_string(log, decision_id);
        log += ",\"item_id\":";
        core::append_json_string(log, item_id);
        log += ",\"reward\":";
        core::append_json_number(log, value);
        log += ",\"outcome\":";
        core::append_json_string(log, to_string(outcome));
        log += ",\"ts\":" + std::to_string(now_ms) + "}";
        i.log(user_id.empty() ? decision_id : std::string_view(user_id), log);
    }
    return outcome;
}

}  // namespace marquee::serve
