#include "engine/recommender.h"

#include <Eigen/Core>
#include <algorithm>

#include "engine/retrieval.h"

namespace marquee::engine {

namespace {

struct candidate {
    std::uint32_t row;
    std::string_view source;
    std::uint32_t because;  // co-visitation: the history item behind it
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
    const bool warm = has_embedding(user) && int(user->embedding.size()) == s.dim;
    out.cold_start = !warm;
    const std::size_t n = s.item_count();
    if (n == 0 || request.k <= 0) return out;

    // Scratch mask: rows already a candidate or already seen by the user.
    // Unavailable items start out taken, which keeps every source
    // (embedding, co-visitation, new releases, popular) from returning them.
    std::vector<std::uint8_t> taken(n, 0);
    for (std::size_t r = 0; r < std::min(n, s.available.size()); ++r) taken[r] = s.available[r] ? 0 : 1;
    if (user)
        for (const auto& id : user->recent)
            if (auto row = s.index->find(id)) taken[*row] = 1;

    std::vector<candidate> candidates;
    candidates.reserve(std::size_t(options.retrieval_n + options.covisit_n + options.popular_n +
                                   options.new_release_n));
    auto add = [&](std::uint32_t row, std::string_view source, std::uint32_t because = 0) {
        if (taken[row]) return;
        taken[row] = 1;
        candidates.push_back({row, source, because});
    };

    Eigen::VectorXf affinity;
    if (warm) {
        const Eigen::Map<const online_models::row_matrix> items(s.embeddings.data(), s.embeddings.rows(), s.dim);
        for (const auto& c : top_n_by_dot(items, user->embedding, std::size_t(std::max(options.retrieval_n, 0)),
                                          taken, affinity))
            add(c.row, "embedding");
    }
    if (user && options.covisit_n > 0) {
        std::vector<std::uint32_t> history;
        history.reserve(user->recent.size());
        for (const auto& id : user->recent)
            if (auto row = s.index->find(id)) history.push_back(*row);
        covisit_query q;
        q.history = history;
        q.history_n = options.covisit_history_n;
        q.per_item = options.covisit_n;
        const auto found = top_n_covisited([&s](std::uint32_t r) { return s.neighbours(r); }, q,
                                           std::size_t(options.covisit_n), taken);
        for (const auto& c : found) add(c.row, "covisit", c.because);
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
        c.age_days = (double(s.clock_ms) - double(s.first_seen_ms[row])) / day_ms;  // no overflow for not_seen_yet
        c.new_release = c.age_days <= s.new_release_days;
        features[i] = bandits::make_features(c, req);
    }

    auto slate_opts = options.slate;
    slate_opts.k = request.k;
    const auto slate = bandits::choose_slate(s.bandit, features, slate_opts, request.seed);
    out.items.reserve(slate.size());
    for (const auto& slot : slate) {
        const auto& c = candidates[slot.candidate];
        std::string reason = c.source == "covisit" ? "because_you_watched:" + s.index->ids[c.because]
                                                   : std::string(c.source);
        const auto& titles = s.index->titles;
        out.items.push_back(recommendation{s.index->ids[c.row], c.row < titles.size() ? titles[c.row] : std::string(), slot.score, slot.propensity, slot.explored,
                                           std::move(reason), c.source, features[slot.candidate]});
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
