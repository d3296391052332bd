#include "state/codec.h"

#include <cstring>

#include "core/byte_io.h"

namespace marquee::state {

namespace {

constexpr std::uint8_t user_format = 4, item_format = 2, decision_format = 3;
// Item format 1 (before the catalog topic): no availability, release time,
// title or genres. Still decoded, as an available item with none of them.
constexpr std::uint8_t item_format_v1 = 1;

using writer = core::byte_writer;
using reader = core::byte_reader;

core::error corrupt(const char* what) { return core::error{"corrupt_state", std::string("corrupt ") + what + " record"}; }

}  // namespace

std::string encode_user(const engine::user_state& u) {
    writer w;
    w.put(user_format);
    w.put(std::uint32_t(u.embedding.size()));
    w.put_bytes(u.embedding.data(), u.embedding.size() * sizeof(float));
    w.put_bytes(u.counts.data(), sizeof u.counts);
    w.put(u.events);
    w.put(u.last_ts_ms);
    w.put(std::uint32_t(u.recent.size()));
    for (const auto& id : u.recent) w.put_string(id);
    for (std::size_t i = 0; i < u.recent.size(); ++i) w.put(std::uint8_t(u.positive_at(i)));
    w.put(std::uint32_t(u.event_ids.size()));
    w.put_bytes(u.event_ids.data(), u.event_ids.size() * sizeof(std::uint64_t));
    return w.take();
}

core::result<engine::user_state> decode_user(std::string_view bytes) {
    reader r(bytes);
    engine::user_state u;
    std::uint8_t format = 0;
    std::uint32_t dim = 0, n = 0;
    // Format 1 had no event ids, formats 1 and 2 no reward count (7 event
    // types), formats 1 to 3 no history responses (all count as positive,
    // as they did then); all still decode.
    if (!r.get(format) || format < 1 || format > user_format || !r.get(dim) || dim > 4096)
        return corrupt("user");
    u.embedding.resize(dim);
    const std::size_t counted = format >= 3 ? u.counts.size() : 7;
    if (!r.get_bytes(u.embedding.data(), dim * sizeof(float)) ||
        !r.get_bytes(u.counts.data(), counted * sizeof u.counts[0]) ||
        !r.get(u.events) || !r.get(u.last_ts_ms) || !r.get(n) || n > (1u << 20))
        return corrupt("user");
    u.recent.resize(n);
    for (auto& id : u.recent)
        if (!r.get_string(id)) return corrupt("user");
    u.recent_positive.assign(n, 1);
    if (format >= 4)
        for (auto& positive : u.recent_positive)
            if (!r.get(positive) || positive > 1) return corrupt("user");
    if (format >= 2) {
        std::uint32_t ids = 0;
        if (!r.get(ids) || ids > engine::user_state::event_id_window) return corrupt("user");
        u.event_ids.resize(ids);
        if (!r.get_bytes(u.event_ids.data(), ids * sizeof(std::uint64_t))) return corrupt("user");
    }
    if (!r.done()) return corrupt("user");
    return u;
}

std::string encode_item(std::uint32_t row, const float* embedding, int dim, const engine::item_stats& stats) {
    writer w;
    w.put(item_format);
    w.put(row);
    w.put(std::uint32_t(dim));
    w.put_bytes(embedding, std::size_t(dim) * sizeof(float));
    w.put(stats.popularity.value);
    w.put(stats.popularity.ts_ms);
    w.put(stats.first_seen_ms);
    w.put(std::uint8_t(stats.available));
    w.put(stats.release_ms);
    w.put_string(stats.title);
    w.put_string(stats.genres);
    return w.take();
}

core::result<item_row> decode_item(std::string_view bytes) {
    reader r(bytes);
    item_row row;
    std::uint8_t format = 0;
    std::uint32_t dim = 0;
    if (!r.get(format) || (format != item_format && format != item_format_v1) || !r.get(row.row) || !r.get(dim) ||
        dim > 4096)
        return corrupt("item");
    row.embedding.resize(dim);
    if (!r.get_bytes(row.embedding.data(), dim * sizeof(float)) || !r.get(row.stats.popularity.value) ||
        !r.get(row.stats.popularity.ts_ms) || !r.get(row.stats.first_seen_ms))
        return corrupt("item");
    if (format == item_format) {
        std::uint8_t available = 1;
        if (!r.get(available) || available > 1 || !r.get(row.stats.release_ms) || !r.get_string(row.stats.title) ||
            !r.get_string(row.stats.genres))
            return corrupt("item");
        row.stats.available = available != 0;
    }
    if (!r.done()) return corrupt("item");
    return row;
}

std::string encode_decision(const engine::pending_decision& d) {
    writer w;
    w.put(decision_format);
    w.put_string(d.user_id);
    w.put(d.served_ms);
    w.put(std::uint8_t(d.policy));
    w.put(std::uint32_t(d.items.size()));
    // A decision read back from another feature map has no features; written
    // again (with a reward), it stays so: dimension 0, none stored.
    const std::uint32_t dim = d.features_current ? bandits::feature_dim : 0;
    w.put(dim);
    // Features as float32: pending decisions are the serving path's only
    // write and the store's fastest-growing data; the bandit's update does
    // not need the last digits of a feature.
    for (const auto& i : d.items) {
        w.put_string(i.item_id);
        const Eigen::Matrix<float, bandits::feature_dim, 1> x = i.features.cast<float>();
        w.put_bytes(x.data(), sizeof(float) * dim);
        w.put(i.propensity);
        w.put(std::uint8_t(i.rewarded));
    }
    return w.take();
}

core::result<engine::pending_decision> decode_decision(std::string_view bytes) {
    reader r(bytes);
    engine::pending_decision d;
    std::uint8_t format = 0;
    std::uint32_t n = 0;
    // Format 1 had no policy (everything was served by LinUCB).
    std::uint8_t policy = std::uint8_t(bandits::policy_kind::ucb);
    if (!r.get(format) || format < 1 || format > decision_format || !r.get_string(d.user_id) ||
        !r.get(d.served_ms) || (format >= 2 && !r.get(policy)) ||
        policy > std::uint8_t(bandits::policy_kind::uniform) || !r.get(n) || n > 10000)
        return corrupt("decision");
    d.policy = bandits::policy_kind(policy);
    // Format 1 was written with feature map version 1 (8 features).
    std::uint32_t dim = 8;
    if (format >= 2 && (!r.get(dim) || dim > 1024)) return corrupt("decision");
    d.features_current = dim == bandits::feature_dim;
    d.items.resize(n);
    // Formats 1 and 2 stored float64 features, format 3 float32.
    const std::size_t width = format >= 3 ? sizeof(float) : sizeof(double);
    std::vector<char> features(dim * width);
    for (auto& i : d.items) {
        std::uint8_t rewarded = 0;
        if (!r.get_string(i.item_id) || !r.get_bytes(features.data(), features.size()) || !r.get(i.propensity) ||
            !r.get(rewarded))
            return corrupt("decision");
        i.features.setZero();
        if (d.features_current && width == sizeof(float))
            i.features = Eigen::Map<const Eigen::Matrix<float, bandits::feature_dim, 1>>(
                             reinterpret_cast<const float*>(features.data()))
                             .cast<double>();
        else if (d.features_current)
            std::memcpy(i.features.data(), features.data(), sizeof(double) * bandits::feature_dim);
        i.rewarded = rewarded != 0;
    }
    if (!r.done()) return corrupt("decision");
    return d;
}

}  // namespace marquee::state
