#include "engine/recommender.h"

#include <Eigen/Core>
#include <algorithm>
#include <array>

#include "engine/retrieval.h"

namespace marquee::engine {

namespace {

struct candidate {
    std::uint32_t row;
    std::string_view source;
    std::uint32_t because;  // co-visitation: the history item behind it
    float affinity;         // the embedding source's: its score, computed there
};

bool has_embedding(const user_state* user) {
    if (!user || user->embedding.empty()) return false;
    for (float v : user->embedding)
        if (v != 0.0f) return true;
    return false;
}

}  // namespace

recommendation_list recommend(const model_snapshot& s, const user_state* user,
                              const recommend_request& request, const recommend_options& options,
                              const exposure_tracker* exposure) {
    recommendation_list out;
    out.model_version = s.version;
    out.policy = request.policy.value_or(options.slate.policy);
    const bool warm = has_embedding(user) && int(user->embedding.size()) == s.dim;
    out.cold_start = !warm;
    const std::size_t n = s.item_count();
    if (n == 0 || request.k <= 0) return out;

    // The user's history as rows, oldest first (unknown ids dropped): all of
    // it is never recommended again; the liked part seeds co-visitation and
    // the genre taste.
    thread_local std::vector<std::uint32_t> history, liked;
    history.clear();
    liked.clear();
    if (user)
        for (std::size_t i = 0; i < user->recent.size(); ++i)
            if (auto row = s.index->find(user->recent[i])) {
                history.push_back(*row);
                if (user->positive_at(i)) liked.push_back(*row);
            }

    // Scratch mask: rows already a candidate or never to be returned
    // (unavailable, seen, excluded, outside the requested genres), which
    // keeps every source below from returning them.
    thread_local std::vector<std::uint8_t> taken;
    taken.assign(s.unavailable.begin(), s.unavailable.end());
    taken.resize(n, 0);
    if (!request.genres.empty()) {
        const auto wanted = s.index->genre_filter_of(request.genres).value_or(genre_filter{});
        for (std::size_t r = 0; r < n; ++r)
            if (!s.index->has_any(std::uint32_t(r), wanted)) taken[r] = 1;
    }
    for (const auto& id : request.exclude)
        if (auto row = s.index->find(id)) taken[*row] = 1;
    for (auto row : history) taken[row] = 1;

    std::vector<candidate> candidates;
    candidates.reserve(std::size_t(options.retrieval_n + options.covisit_n + options.popular_n +
                                   options.new_release_n));
    auto add = [&](std::uint32_t row, std::string_view source, std::uint32_t because = 0, float affinity = 0.0f) {
        if (taken[row]) return;
        taken[row] = 1;
        candidates.push_back({row, source, because, affinity});
    };

    const Eigen::Map<const online_models::row_matrix> items(s.embeddings.data(), s.embeddings.rows(), s.dim);
    if (warm)
        for (const auto& c : top_n_by_dot(items, user->embedding, std::size_t(std::max(options.retrieval_n, 0)),
                                          taken, &s.embeddings_half))
            add(c.row, source_embedding, 0, c.score);
    if (!liked.empty() && options.covisit_n > 0) {
        covisit_query q;
        q.history = liked;
        q.history_n = options.covisit_history_n;
        q.per_item = options.covisit_n;
        const auto found = top_n_covisited([&s](std::uint32_t r) { return s.neighbours(r); }, q,
                                           std::size_t(options.covisit_n), taken);
        for (const auto& c : found) add(c.row, source_covisit, c.because);
    }
    // Up to `n` rows of `list` not taken yet that `wanted` accepts; how many.
    auto add_listed = [&](const auto& list, int n, std::string_view source, auto wanted) {
        int added = 0;
        for (auto row : list) {
            if (added == n) break;
            if (taken[row] || !wanted(row)) continue;
            ++added;
            add(row, source);
        }
        return added;
    };
    const auto any = [](std::uint32_t) { return true; };
    // With an exposure floor, the releases still under it come first: the
    // newest new_release_n alone would leave the older ones of the
    // snapshot's list out of reach of the floor for good.
    const double floor = options.exposure_floor.min_impressions_per_hour;
    int below_floor = 0;
    if (exposure && floor > 0.0)
        below_floor = add_listed(s.new_releases, options.new_release_n, source_new_release, [&](std::uint32_t row) {
            return exposure->impressions_per_hour(row, request.now_ms) < floor;
        });
    add_listed(s.new_releases, options.new_release_n - below_floor, source_new_release, any);
    const int popular = add_listed(s.popular, options.popular_n, source_popular, any);
    // The snapshot's lists are cut before a request's genres and exclusions
    // apply, so a cold user asking for a niche genre could get nothing while
    // the catalog holds plenty. Short of k, the popularity order goes on
    // past the list: one pass over the rows, on this rare path only.
    if (candidates.size() < std::size_t(request.k) && popular < options.popular_n) {
        thread_local std::vector<std::uint32_t> rest;
        rest.clear();
        for (std::uint32_t r = 0; r < n; ++r)
            if (!taken[r]) rest.push_back(r);
        const auto want = std::min({rest.size(), std::size_t(request.k) - candidates.size(),
                                    std::size_t(options.popular_n - popular)});
        std::partial_sort(rest.begin(), rest.begin() + std::ptrdiff_t(want), rest.end(),
                          [&s](std::uint32_t a, std::uint32_t b) { return s.more_popular(a, b); });
        for (std::size_t i = 0; i < want; ++i) add(rest[i], source_popular);
    }
    if (candidates.empty()) return out;

    bandits::request_signals req;
    req.user_events = user ? double(user->events) : 0.0;
    req.device_tv = request.device == "tv";
    req.hour_of_day = bandits::hour_of_day(request.now_ms);
    // Genres of the user's latest liked items, for each candidate's genre match.
    std::array<bandits::genre_mask, 20> taste{};
    std::size_t tasted = 0;
    for (auto it = liked.rbegin(); it != liked.rend() && tasted < taste.size(); ++it)
        if (*it < s.index->genres.size() && s.index->genres[*it]) taste[tasted++] = s.index->genres[*it];
    const auto request_features = bandits::make_request_features(req);
    std::vector<bandits::feature_vector> features(candidates.size());
    std::vector<bandits::candidate_meta> meta(candidates.size());
    std::vector<bandits::new_release_exposure> fresh;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const auto row = candidates[i].row;
        bandits::candidate_signals c;
        if (warm)
            c.affinity = double(candidates[i].source == source_embedding ? candidates[i].affinity
                                                                          : dot_row(items, row, user->embedding));
        c.popularity = s.popularity[row];
        c.age_days = s.age_days(row);
        c.new_release = c.age_days >= 0.0 && c.age_days <= s.new_release_days;  // released, recently
        const bandits::genre_mask genres = row < s.index->genres.size() ? s.index->genres[row] : 0;
        if (tasted > 0 && genres != 0) {
            std::size_t shared = 0;
            for (std::size_t h = 0; h < tasted; ++h) shared += (taste[h] & genres) != 0;
            c.genre_match = double(shared) / double(tasted);
        }
        features[i] = bandits::make_features(c, request_features);
        meta[i] = {genres, c.new_release, c.age_days};
        if (c.new_release && exposure)
            fresh.push_back({std::uint32_t(i), exposure->impressions_per_hour(row, request.now_ms)});
    }

    auto slate_opts = options.slate;
    slate_opts.k = request.k;
    slate_opts.policy = out.policy;
    if (request.epsilon) slate_opts.epsilon = *request.epsilon;
    std::vector<bandits::forced_slot> forced;
    if (exposure && options.exposure_floor.min_impressions_per_hour > 0.0) {
        std::erase_if(fresh, [&](const auto& f) {
            return f.impressions_per_hour >= options.exposure_floor.min_impressions_per_hour;
        });
        // fill_slate fills at most one slot per candidate: a short slate's
        // insertion goes to its last slot, not past it.
        const int slots = int(std::min<std::size_t>(std::size_t(std::max(request.k, 0)), candidates.size()));
        forced = bandits::exposure_floor(fresh, slots, options.exposure_floor);
    }
    const bandits::linucb_scorer scorer(s.bandit, features);
    thread_local bandits::slate_workspace workspace;
    thread_local std::vector<bandits::slot> slate;
    bandits::fill_slate(scorer, slate_opts, {.meta = meta, .forced = forced, .seed = request.seed}, workspace, slate);

    out.items.reserve(slate.size());
    for (const auto& slot : slate) {
        const auto& c = candidates[slot.candidate];
        std::string reason = c.source == source_covisit ? "because_you_watched:" + s.index->ids[c.because]
                                                   : std::string(c.source);
        const auto& titles = s.index->titles;
        const bool is_new = meta[slot.candidate].new_release;
        if (is_new) out.new_release_rows.push_back(c.row);
        out.items.push_back(recommendation{s.index->ids[c.row], c.row < titles.size() ? titles[c.row] : std::string(),
                                           slot.score, slot.propensity, slot.explored, std::move(reason), c.source,
                                           is_new, slot.forced, features[slot.candidate]});
    }
    return out;
}

pending_decision to_pending(const recommendation_list& list, std::string_view user_id, std::int64_t now_ms) {
    pending_decision d;
    d.user_id = user_id;
    d.served_ms = now_ms;
    d.policy = list.policy;
    d.items.reserve(list.items.size());
    for (const auto& r : list.items) d.items.push_back({r.item_id, r.features, r.propensity, false});
    return d;
}

}  // namespace marquee::engine
