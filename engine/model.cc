#include "engine/model.h"

namespace marquee::engine {

model::model(model_options options)
    : options_(options), items_(options.mf.dim), covisit_(options.covisit), bandit_(options.bandit) {}

std::uint32_t model::ensure_item(std::string_view item_id, std::int64_t first_seen_ms) {
    if (auto row = items_.find(item_id)) return *row;
    std::vector<float> init(static_cast<std::size_t>(dim()));
    online_models::init_vector(item_id, options_.mf.seed, options_.mf.init_scale, init.data(), dim());
    auto row = items_.insert(item_id, init.data());
    item_stats s;
    s.first_seen_ms = first_seen_ms;
    stats_.push_back(s);
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
