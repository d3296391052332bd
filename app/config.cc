#include "app/config.h"

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <functional>
#include <stdexcept>
#include <toml++/toml.h>

namespace marquee::app {

namespace {

template <class T>
T parse_number(std::string_view key, std::string_view v) {
    T out{};
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || end != v.data() + v.size())
        throw std::invalid_argument(std::string(key) + ": '" + std::string(v) + "' is not a valid number");
    return out;
}

bool parse_bool(std::string_view key, std::string_view v) {
    if (v == "true" || v == "1") return true;
    if (v == "false" || v == "0") return false;
    throw std::invalid_argument(std::string(key) + ": expected true or false, got '" + std::string(v) + "'");
}

template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};

template <class T>
std::string text(const T& v) {
    if constexpr (std::is_same_v<T, std::string>) return v;
    else if constexpr (is_duration<T>::value) return std::to_string(v.count());
    else if constexpr (std::is_floating_point_v<T>) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", double(v));
        return buf;
    }
    else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
    else return std::to_string(v);
}

struct entry {
    config_key key;
    std::function<void(config&, std::string_view)> set;
    std::function<std::string(const config&)> get;
};

// The values a numeric key accepts; anything else fails at start-up rather
// than as a division by zero or a NaN model later.
struct range {
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    bool min_excluded = false;

    bool contains(double v) const { return (min_excluded ? v > min : v >= min) && v <= max; }
    std::string describe() const {
        std::string out;
        if (std::isfinite(min)) out = (min_excluded ? "above " : "at least ") + text(min);
        if (std::isfinite(max)) out += (out.empty() ? "at most " : " and at most ") + text(max);
        return out;
    }
};
range at_least(double min) { return {.min = min}; }
range positive() { return {.min = 0, .min_excluded = true}; }
range within(double min, double max) { return {.min = min, .max = max}; }

// Binds a key to a member via an accessor; parsing follows the member's type.
template <class F>
entry bind(std::string_view name, std::string_view doc, F field, range allowed = {}) {
    using T = std::remove_reference_t<decltype(field(std::declval<config&>()))>;
    return entry{
        {name, doc},
        [name, field, allowed](config& c, std::string_view v) {
            T& target = field(c);
            if constexpr (std::is_same_v<T, std::string>) target = std::string(v);
            else if constexpr (std::is_same_v<T, bool>) target = parse_bool(name, v);
            else {
                T parsed;
                if constexpr (is_duration<T>::value) parsed = T(parse_number<typename T::rep>(name, v));
                else parsed = parse_number<T>(name, v);
                double value;
                if constexpr (is_duration<T>::value) value = double(parsed.count());
                else value = double(parsed);
                if (!std::isfinite(value) || !allowed.contains(value))
                    throw std::invalid_argument(std::string(name) + ": '" + std::string(v) + "' is out of range (" +
                                                (allowed.describe().empty() ? "not finite" : allowed.describe()) + ")");
                target = parsed;
            }
        },
        [field](const config& c) { return text(field(const_cast<config&>(c))); },
    };
}

const std::vector<entry>& entries() {
    static const std::vector<entry> table = [] {
        std::vector<entry> t;
        t.push_back(bind("kafka.bootstrap.servers", "Kafka bootstrap servers; empty starts an embedded broker",
                         [](config& c) -> auto& { return c.kafka.brokers; }));
        t.push_back(bind("kafka.group.id", "Consumer group id", [](config& c) -> auto& { return c.kafka.group_id; }));
        t.push_back(bind("topics.events", "Topic of incoming events", [](config& c) -> auto& { return c.kafka.events_topic; }));
        t.push_back(bind("topics.items", "Catalog topic (compacted, key = item id): availability, release time, title, genres",
                         [](config& c) -> auto& { return c.kafka.items_topic; }));
        t.push_back(bind("topics.decisions", "Topic served decisions are appended to",
                         [](config& c) -> auto& { return c.kafka.decisions_topic; }));
        t.push_back(bind("topics.decisions_linger_ms",
                         "linger.ms of the decision log's own producer (replaces kafka.linger.ms there)",
                         [](config& c) -> auto& { return c.kafka.decisions_linger_ms; }));
        t.push_back(bind("topics.events_delivery_timeout_ms",
                         "How long POST /v1/events and recommendation rewards wait for the brokers before a 503, ms",
                         [](config& c) -> auto& { return c.kafka.events_delivery_timeout_ms; }, within(1, 900000)));
        t.push_back(bind("topics.dlq", "Dead-letter topic for invalid events; empty disables it (not an ingested topic)",
                         [](config& c) -> auto& { return c.kafka.dlq_topic; }));
        t.push_back(bind("embedded.partitions", "Partitions per topic on the embedded broker",
                         [](config& c) -> auto& { return c.kafka.embedded_partitions; }, at_least(1)));
        t.push_back(bind("ingest.batch_max_messages", "Largest batch applied in one RocksDB write",
                         [](config& c) -> auto& { return c.ingest.batch_max_messages; }, at_least(1)));
        t.push_back(bind("ingest.batch_max_wait_ms", "Longest a message waits for its batch to fill",
                         [](config& c) -> auto& { return c.ingest.batch_max_wait; }, at_least(0)));
        t.push_back(bind("ingest.ready_max_lag", "/readyz needs the consumer lag (messages) at most this",
                         [](config& c) -> auto& { return c.ingest.ready_max_lag; }, at_least(0)));
        t.push_back(bind("ingest.replay_moved_partitions",
                         "On a partition another group member consumed meanwhile, replay it from this instance's offset",
                         [](config& c) -> auto& { return c.ingest.replay_moved_partitions; }));
        t.push_back(bind("ingest.revoke_commit_timeout_ms",
                         "Longest a revoke (rebalance or shutdown) waits for a broker to answer before committing the "
                         "group's offsets (none answering: no commit)",
                         [](config& c) -> auto& { return c.ingest.revoke_commit_timeout; }, at_least(0)));
        t.push_back(bind("ingest.max_event_bytes", "Events larger than this are rejected (too_large)",
                         [](config& c) -> auto& { return c.applier.decoder.max_event_bytes; }, at_least(1)));
        t.push_back(bind("ingest.max_ts_ahead_ms",
                         "Events whose ts is further than this ahead of their Kafka timestamp are rejected (invalid_value); "
                         "a ts ahead by less is applied as the Kafka timestamp",
                         [](config& c) -> auto& { return c.applier.decoder.max_ts_ahead_ms; }, at_least(0)));
        t.push_back(bind("ingest.user_cache_size", "Users kept decoded in memory by the ingest thread",
                         [](config& c) -> auto& { return c.applier.user_cache_size; }));
        t.push_back(bind("ingest.publish_interval_ms", "Minimum interval between serving snapshots (at least 4x the last one's copy time)",
                         [](config& c) -> auto& { return c.applier.publish_interval; }, at_least(0)));
        t.push_back(bind("state.data_dir", "Directory of the RocksDB state", [](config& c) -> auto& { return c.state.path; }));
        t.push_back(bind("state.sync_writes", "fsync the WAL on every batch",
                         [](config& c) -> auto& { return c.state.sync_writes; }));
        t.push_back(bind("state.block_cache_bytes", "RocksDB block cache size",
                         [](config& c) -> auto& { return c.state.block_cache_bytes; }));
        t.push_back(bind("state.background_write_bytes_per_s",
                         "Cap on RocksDB flush and compaction writes, bytes/s (0: none)",
                         [](config& c) -> auto& { return c.state.background_write_bytes_per_s; }));
        t.push_back(bind("state.background_low_priority", "Run RocksDB flushes and compactions at nice 19",
                         [](config& c) -> auto& { return c.state.background_low_priority; }));
        t.push_back(bind("http.address", "Listen address (a numeric IP: 0.0.0.0 or :: for all interfaces)", [](config& c) -> auto& { return c.http.address; }));
        t.push_back(bind("http.port", "Listen port (0: any free port)", [](config& c) -> auto& { return c.http.port; }));
        t.push_back(bind("http.threads", "HTTP I/O threads", [](config& c) -> auto& { return c.http.threads; }, within(1, 256)));
        t.push_back(bind("http.body_limit", "Largest request body, bytes", [](config& c) -> auto& { return c.http.body_limit; }, at_least(1)));
        t.push_back(bind("http.header_limit", "Largest request header block, bytes",
                         [](config& c) -> auto& { return c.http.header_limit; }, at_least(1)));
        t.push_back(bind("http.idle_timeout_s", "Idle connection timeout, seconds",
                         [](config& c) -> auto& { return c.http.idle_timeout; }, at_least(1)));
        t.push_back(bind("http.drain_timeout_s", "On shutdown, how long requests in progress may take to finish, seconds",
                         [](config& c) -> auto& { return c.http.drain_timeout; }, at_least(0)));
        t.push_back(bind("api.max_k", "Largest k a client may request", [](config& c) -> auto& { return c.api.max_k; }, within(1, 1000)));
        t.push_back(bind("api.default_k", "k when the request gives none (at most `api.max_k`)", [](config& c) -> auto& { return c.api.default_k; }, at_least(1)));
        t.push_back(bind("api.exploration_seed", "Seed mixed into each decision's exploration seed",
                         [](config& c) -> auto& { return c.api.exploration_seed; }));
        t.push_back(bind("api.max_exclude", "Most item ids in exclude= (and names in genres=)",
                         [](config& c) -> auto& { return c.api.max_exclude; }, at_least(0)));
        t.push_back(bind("rank.bits", "POST /v1/rank: hashed feature space is 2^bits (model dim 2^bits + 4; O(dim^2) per reward)",
                         [](config& c) -> auto& { return c.api.rank.model.bits; }, within(1, 12)));
        t.push_back(bind("rank.alpha", "POST /v1/rank: LinUCB confidence width",
                         [](config& c) -> auto& { return c.api.rank.model.alpha; }, at_least(0)));
        t.push_back(bind("rank.lambda", "POST /v1/rank: ridge prior (a new rank model's; a stored one keeps its own)",
                         [](config& c) -> auto& { return c.api.rank.model.lambda; }, positive()));
        t.push_back(bind("rank.thompson_v", "POST /v1/rank: Thompson sampling posterior scale",
                         [](config& c) -> auto& { return c.api.rank.model.v; }, at_least(0)));
        t.push_back(bind("rank.epsilon", "POST /v1/rank: per-slot uniform exploration when the request gives no explore",
                         [](config& c) -> auto& { return c.api.rank.epsilon; }, within(0, 1)));
        t.push_back(bind("rank.max_candidates", "POST /v1/rank: most candidates per request",
                         [](config& c) -> auto& { return c.api.rank.max_candidates; }, at_least(1)));
        t.push_back(bind("rank.max_features", "POST /v1/rank: most feature terms in the context and in each candidate",
                         [](config& c) -> auto& { return c.api.rank.max_features; }, at_least(1)));
        t.push_back(bind("rank.checkpoint_every", "POST /v1/rank: rewards between full model writes (others are logged)",
                         [](config& c) -> auto& { return c.api.rank.checkpoint_every; }, at_least(1)));
        t.push_back(bind("rank.seed", "POST /v1/rank: seed mixed into each decision's exploration seed",
                         [](config& c) -> auto& { return c.api.rank.seed; }));
        t.push_back(bind("retrieval.embedding_n", "Candidates from the embedding dot product",
                         [](config& c) -> auto& { return c.api.recommend.retrieval_n; }, within(0, 10000)));
        t.push_back(bind("retrieval.popular_n", "Popular candidates added", [](config& c) -> auto& { return c.api.recommend.popular_n; }, within(0, 10000)));
        t.push_back(bind("retrieval.new_release_n", "New-release candidates added",
                         [](config& c) -> auto& { return c.api.recommend.new_release_n; }, within(0, 10000)));
        t.push_back(bind("retrieval.covisit_n", "Co-visitation candidates (because you watched) added",
                         [](config& c) -> auto& { return c.api.recommend.covisit_n; }, within(0, 1000)));
        t.push_back(bind("bandit.alpha", "LinUCB confidence width", [](config& c) -> auto& { return c.model.bandit.alpha; }, at_least(0)));
        t.push_back(bind("bandit.lambda", "LinUCB ridge prior (a new data dir's; a stored bandit keeps its own)", [](config& c) -> auto& { return c.model.bandit.lambda; }, positive()));
        t.push_back(bind("bandit.epsilon", "Per-slot uniform exploration probability",
                         [](config& c) -> auto& { return c.api.recommend.slate.epsilon; }, within(0, 1)));
        t.push_back(entry{
            {"bandit.policy", "Default policy: linucb, thompson, greedy, epsilon_greedy or uniform (per request: ?policy=)"},
            [](config& c, std::string_view v) {
                auto k = bandits::parse_policy_kind(v);
                if (!k)
                    throw std::invalid_argument("bandit.policy: '" + std::string(v) +
                                                "' is not one of " + bandits::policy_kind_names());
                c.api.recommend.slate.policy = *k;
            },
            [](const config& c) { return std::string(bandits::to_string(c.api.recommend.slate.policy)); },
        });
        t.push_back(bind("bandit.new_release_weight", "Multiplies the exploration term of new releases",
                         [](config& c) -> auto& { return c.api.recommend.slate.new_release.exploration_weight; }, at_least(0)));
        t.push_back(bind("bandit.exposure_floor_per_hour",
                         "Impressions per hour the exposure floor gives each new release it reaches (0: off)",
                         [](config& c) -> auto& { return c.api.recommend.exposure_floor.min_impressions_per_hour; }, at_least(0)));
        t.push_back(bind("bandit.exposure_floor_max_inserts", "Most exposure-floor insertions per slate",
                         [](config& c) -> auto& { return c.api.recommend.exposure_floor.max_inserts; }, at_least(0)));
        t.push_back(bind("bandit.max_per_genre", "Most items of one genre per slate (0: no cap)",
                         [](config& c) -> auto& { return c.api.recommend.slate.diversity.max_per_genre; }, at_least(0)));
        t.push_back(bind("bandit.mmr_lambda", "MMR relevance weight against genre similarity (1: off)",
                         [](config& c) -> auto& { return c.api.recommend.slate.diversity.mmr_lambda; }, within(0, 1)));
        t.push_back(bind("bandit.reward_window_ms",
                         "How long a shown item can still earn a reward without its decision_id",
                         [](config& c) -> auto& { return c.applier.rewards.window; }, at_least(0)));
        t.push_back(bind("bandit.decision_ttl_ms",
                         "Longest a decision waits for the stream to pass its window (at least the window)",
                         [](config& c) -> auto& { return c.applier.rewards.decision_ttl; }, at_least(0)));
        t.push_back(bind("bandit.default_reward", "Reward of shown items that got none within the window",
                         [](config& c) -> auto& { return c.applier.rewards.default_reward; }, within(0, 1)));
        t.push_back(bind("bandit.watch_reward_fraction", "A watch of at least this fraction is a positive response",
                         [](config& c) -> auto& { return c.applier.rewards.watch_fraction; }, within(0, 1)));
        t.push_back(bind("model.dim", "Embedding dimension", [](config& c) -> auto& { return c.model.mf.dim; }, within(1, 1024)));
        // At most 10: the max-norm cap keeps vectors finite only while one
        // step cannot overflow a float (1 already learns badly here).
        t.push_back(bind("model.learning_rate", "SGD learning rate (above 0, at most 10)",
                         [](config& c) -> auto& { return c.model.mf.learning_rate; },
                         range{.min = 0, .max = 10, .min_excluded = true}));
        t.push_back(bind("model.l2", "L2 regularisation", [](config& c) -> auto& { return c.model.mf.l2; }, at_least(0)));
        t.push_back(bind("model.negatives", "Sampled negatives per positive event",
                         [](config& c) -> auto& { return c.model.mf.negatives; }, at_least(0)));
        t.push_back(bind("model.seed", "Seed of initial vectors and negative sampling",
                         [](config& c) -> auto& { return c.model.mf.seed; }));
        t.push_back(bind("model.popularity_half_life_hours", "Half-life of item popularity (event time)",
                         [](config& c) -> auto& { return c.model.popularity_half_life_hours; }, positive()));
        t.push_back(bind("model.new_release_days", "Age (days) up to which an item counts as a new release",
                         [](config& c) -> auto& { return c.model.new_release_days; }, within(0, 36500)));
        t.push_back(bind("model.history_size", "Recent items kept per user (never re-recommended)",
                         [](config& c) -> auto& { return c.model.history_size; }, at_least(0)));
        t.push_back(bind("model.covisit_neighbours", "Co-visitation neighbours kept per item (Space-Saving)",
                         [](config& c) -> auto& { return c.model.covisit.capacity; }, at_least(1)));
        t.push_back(bind("model.covisit_window", "Recent items a liked item is paired with",
                         [](config& c) -> auto& { return c.model.covisit.window; }, at_least(0)));
        t.push_back(bind("log.level", "trace, debug, info, warn, error", [](config& c) -> auto& { return c.log_level; }));
        t.push_back(bind("log.format", "text, or json (one object per line)", [](config& c) -> auto& { return c.log_format; }));
        return t;
    }();
    return table;
}

const entry* find(std::string_view key) {
    for (const auto& e : entries())
        if (e.key.name == key) return &e;
    return nullptr;
}

}  // namespace

const std::vector<config_key>& config_keys() {
    static const std::vector<config_key> keys = [] {
        std::vector<config_key> k;
        for (const auto& e : entries()) k.push_back(e.key);
        return k;
    }();
    return keys;
}

void set(config& c, std::string_view key, std::string_view value) {
    if (const entry* e = find(key)) return e->set(c, value);
    if (key.starts_with("kafka.") && key.size() > 6) {
        // Validated by librdkafka itself when the clients are created.
        c.kafka.properties[std::string(key.substr(6))] = std::string(value);
        return;
    }
    throw std::invalid_argument("unknown configuration key '" + std::string(key) +
                                "' (see `marquee config print` for the list)");
}

std::string get(const config& c, std::string_view key) {
    if (const entry* e = find(key)) return e->get(c);
    if (key.starts_with("kafka.")) {
        auto it = c.kafka.properties.find(std::string(key.substr(6)));
        if (it != c.kafka.properties.end()) return it->second;
    }
    throw std::invalid_argument("unknown configuration key '" + std::string(key) + "'");
}

namespace {

void apply_table(config& c, const toml::table& table, const std::string& prefix) {
    for (const auto& [k, node] : table) {
        const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
        if (const auto* sub = node.as_table()) {
            apply_table(c, *sub, key);
        } else if (const auto* s = node.as_string()) {
            set(c, key, s->get());
        } else if (const auto* i = node.as_integer()) {
            set(c, key, std::to_string(i->get()));
        } else if (const auto* f = node.as_floating_point()) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.17g", f->get());
            set(c, key, buf);
        } else if (const auto* b = node.as_boolean()) {
            set(c, key, b->get() ? "true" : "false");
        } else {
            throw std::invalid_argument(key + ": unsupported TOML value type");
        }
    }
}

}  // namespace

void apply_toml_file(config& c, const std::string& path) {
    toml::table table;
    try {
        table = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        throw std::invalid_argument(path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
                                    std::string(e.description()));
    }
    apply_table(c, table, "");
}

void apply_environment(config& c, char** env) {
    for (char** p = env; p && *p; ++p) {
        std::string_view var(*p);
        auto eq = var.find('=');
        if (eq == std::string_view::npos || !var.starts_with("MARQUEE_")) continue;
        std::string_view name = var.substr(8, eq - 8), value = var.substr(eq + 1);
        if (name == "BROKERS") {
            set(c, "kafka.bootstrap.servers", value);
            continue;
        }
        auto sep = name.find("__");
        if (sep == std::string_view::npos) {
            // Most likely a setting spelt with one underscore (MARQUEE_HTTP_PORT),
            // which would otherwise be ignored without a word.
            spdlog::warn("environment: {} is not a Marquee setting and is ignored (settings are "
                         "MARQUEE_<SECTION>__<KEY>, e.g. MARQUEE_HTTP__PORT, and MARQUEE_BROKERS)",
                         var.substr(0, eq));
            continue;
        }
        std::string section(name.substr(0, sep)), rest(name.substr(sep + 2));
        for (auto& ch : section) ch = char(std::tolower(ch));
        for (auto& ch : rest) ch = char(std::tolower(ch));
        if (section == "kafka") {
            // Confluent's convention: "_" -> ".", "__" -> "_", "___" -> "-".
            std::string key;
            for (std::size_t i = 0; i < rest.size(); ++i) {
                if (rest.compare(i, 3, "___") == 0) key += '-', i += 2;
                else if (rest.compare(i, 2, "__") == 0) key += '_', i += 1;
                else key += rest[i] == '_' ? '.' : rest[i];
            }
            rest = key;
        }
        set(c, section + "." + rest, value);
    }
}

void validate(const config& c) {
    if (c.kafka.events_topic.empty()) throw std::invalid_argument("topics.events: must name a topic");
    const auto& dlq = c.kafka.dlq_topic;
    if (!dlq.empty() && (dlq == c.kafka.events_topic || dlq == c.kafka.items_topic))
        throw std::invalid_argument("topics.dlq: '" + dlq + "' is a topic ingest reads (topics.events/topics.items); "
                                    "each rejected record would be read and rejected again forever");
    // Ingest reads a record by its topic: a catalog record on the events
    // topic (or the reverse), or a decision log record read back as an event,
    // is rejected and dead-lettered, every one of them.
    const std::pair<const char*, const std::string*> topics[] = {{"topics.events", &c.kafka.events_topic},
                                                                 {"topics.items", &c.kafka.items_topic},
                                                                 {"topics.decisions", &c.kafka.decisions_topic}};
    for (std::size_t i = 0; i < std::size(topics); ++i)
        for (std::size_t j = i + 1; j < std::size(topics); ++j)
            if (!topics[i].second->empty() && *topics[i].second == *topics[j].second)
                throw std::invalid_argument(std::string(topics[j].first) + ": '" + *topics[j].second + "' is also " +
                                            topics[i].first + "; each must be a topic of its own");
    if (c.api.default_k > c.api.max_k)
        throw std::invalid_argument("api.default_k: " + std::to_string(c.api.default_k) + " is above api.max_k (" +
                                    std::to_string(c.api.max_k) + ")");
    boost::system::error_code ec;
    boost::asio::ip::make_address(c.http.address, ec);
    if (ec)
        throw std::invalid_argument("http.address: '" + c.http.address +
                                    "' is not an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::)");
}

std::string print(const config& c) {
    std::string out;
    for (const auto& e : entries()) {
        out += std::string(e.key.name) + " = " + e.get(c) + "    # " + std::string(e.key.doc) + "\n";
    }
    for (const auto& [k, v] : c.kafka.properties)
        out += "kafka." + k + " = " + (stream::is_secret_property(k) ? std::string("[redacted]") : v) + "\n";
    return out;
}

}  // namespace marquee::app
