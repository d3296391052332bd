#include "engine/recommender.h"

#include <Eigen/Core>
#include <algorithm>

namespace marquee::engine {

namespace {

struct candidate {
    std::uint32_t row;
    std::string_view reason;
};

bool has_embedding(const user_state* user) {
    if (!user || user->embedding.empty()) return false;
    for (float v : user->embedding)
        if (v != 0.0f) return true;
    return false;
}

}  // namespace

recommendation_list recommend(const model_snapshot& s, const user_state* user,
                              const recommend_request& request, const recommend_options& options) {
    recommendation_list out;
    out.model_version = s.version;
    const std::size_t n = s.item_count();
    if (n == 0 || request.k <= 0) return out;

    // Scratch mask: rows already a candidate or already seen by the user.
    std::vector<std::uint8_t> taken(n, 0);
    if (user)
        for (const auto& id : user->recent)
            if (auto row = s.index->find(id)) taken[*row] = 1;

    std::vector<candidate> candidates;
    candidates.reserve(std::size_t(options.retrieval_n + options.popular_n + options.new_release_n));
    auto add = [&](std::uint32_t row, std::string_view reason) {
        if (taken[row]) return;
        taken[row] = 1;
        candidates.push_back({row, reason});
    };

    Eigen::VectorXf affinity;
    const bool warm = has_embedding(user) && int(user->embedding.size()) == s.dim;
    out.cold_start = !warm;
    if (warm) {
        Eigen::Map<const Eigen::VectorXf> u(user->embedding.data(), s.dim);
        affinity.noalias() = s.embeddings * u;
        std::vector<std::uint32_t> rows;
        rows.reserve(n);
        for (std::uint32_t r = 0; r < n; ++r)
            if (!taken[r]) rows.push_back(r);
        const std::size_t want = std::min<std::size_t>(std::size_t(options.retrieval_n), rows.size());
        std::partial_sort(rows.begin(), rows.begin() + std::ptrdiff_t(want), rows.end(),
                          [&](auto a, auto b) { return affinity[a] > affinity[b] || (affinity[a] == affinity[b] && a < b); });
        for (std::size_t i = 0; i < want; ++i) add(rows[i], "embedding");
    }
    int added = 0;
    for (auto row : s.new_releases) {
        if (added == options.new_release_n) break;
        if (!taken[row]) ++added;
        add(row, "new_release");
    }
    added = 0;
    for (auto row : s.popular) {
        if (added == options.popular_n) break;
        if (!taken[row]) ++added;
        add(row, "popular");
    }
    if (candidates.empty()) return out;

    bandits::request_signals req;
    req.user_events = user ? double(user->events) : 0.0;
    req.device_tv = request.device == "tv";
    std::vector<bandits::feature_vector> features(candidates.size());
    const double day_ms = 86400e3;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const auto row = candidates[i].row;
        bandits::candidate_signals c;
        c.affinity = warm ? double(affinity[row]) : 0.0;
        c.popularity = s.popularity[row];
        c.age_days = double(s.clock_ms - s.first_seen_ms[row]) / day_ms;
        c.new_release = c.age_days <= s.new_release_days;
        features[i] = bandits::make_features(c, req);
    }

    auto slate_opts = options.slate;
    slate_opts.k = request.k;
    const auto slate = bandits::choose_slate(s.bandit, features, slate_opts, request.seed);
    out.items.reserve(slate.size());
    for (const auto& slot : slate) {
        const auto& c = candidates[slot.candidate];
        out.items.push_back(recommendation{s.index->ids[c.row], slot.score, slot.propensity, slot.explored,
                                           c.reason, features[slot.candidate]});
    }
    return out;
}

pending_decision to_pending(const recommendation_list& list, std::string_view user_id, std::int64_t now_ms) {
    pending_decision d;
    d.user_id = user_id;
    d.served_ms = now_ms;
    d.items.reserve(list.items.size());
    for (const auto& r : list.items) d.items.push_back({r.item_id, r.features, r.propensity, false});
    return d;
}

}  // namespace marquee::engine
