#include "engine/model.h"

namespace marquee::engine {

model::model(model_options options)
    : options_(options), items_(options.mf.dim), covisit_(options.covisit), bandit_(options.bandit) {}

std::uint32_t model::ensure_item(std::string_view item_id, std::int64_t first_seen_ms) {
    if (auto row = items_.find(item_id)) {
        if (stats_[*row].first_seen_ms == not_seen_yet) stats_[*row].first_seen_ms = first_seen_ms;
        return *row;
    }
    std::vector<float> init(static_cast<std::size_t>(dim()));
    online_models::init_vector(item_id, options_.mf.seed, options_.mf.init_scale, init.data(), dim());
    auto row = items_.insert(item_id, init.data());
    item_stats s;
    s.first_seen_ms = first_seen_ms;
    stats_.push_back(s);
    return row;
}

std::uint32_t model::apply_catalog(const events::catalog_item& item, bool back_catalogue) {
    // Not ensure_item(): a title fix for an item no event has named yet
    // must not make it a new release.
    const auto known = items_.find(item.item_id);
    const auto row = known ? *known : ensure_item(item.item_id, clock_ms_ > 0 && !back_catalogue ? clock_ms_ : not_seen_yet);
    ++catalog_version_;
    auto& s = stats_[row];
    s.available = item.available;
    // A tombstone carries no metadata: keep what the item had.
    if (!item.available && item.title.empty() && item.genres.empty() && !item.release_ms) return row;
    s.release_ms = item.release_ms.value_or(unknown_release);
    s.title = item.title;
    s.genres.clear();
    for (const auto& g : item.genres) {
        if (!s.genres.empty()) s.genres += '|';
        s.genres += g;
    }
    return row;
}

void model::restore_item(std::string_view item_id, const float* embedding, const item_stats& stats) {
    auto row = items_.insert(item_id, embedding);
    if (row == stats_.size()) {
        stats_.push_back(stats);
    } else {
        items_.row(row) = online_models::const_vector_map(embedding, dim());
        stats_[row] = stats;
    }
}

}  // namespace marquee::engine
