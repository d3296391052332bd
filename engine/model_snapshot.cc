#include "engine/model_snapshot.h"

#include <algorithm>
#include <numeric>

namespace marquee::engine {

namespace {

// Genre g's bit: its own below 63, the shared last one from 63 on.
bandits::genre_mask bit_of(std::size_t g) {
    return bandits::genre_mask(1) << std::min<std::size_t>(g, bandits::max_genres - 1);
}

}  // namespace

std::optional<genre_filter> item_index::genre_filter_of(std::span<const std::string> names) const {
    genre_filter f;
    for (const auto& name : names) {
        auto it = std::find(genre_names.begin(), genre_names.end(), name);
        if (it == genre_names.end()) return std::nullopt;
        const auto g = std::size_t(it - genre_names.begin());
        f.mask |= bit_of(g);
        if (g >= bandits::max_genres - 1) f.shared.push_back(std::uint32_t(g));
    }
    return f;
}

bool item_index::has_shared(std::uint32_t row, const genre_filter& f) const {
    auto it = shared_genres.find(row);
    if (it == shared_genres.end()) return false;
    for (auto g : it->second)
        if (std::find(f.shared.begin(), f.shared.end(), g) != f.shared.end()) return true;
    return false;
}

namespace {

// MovieLens' placeholder for "none" is not a genre.
constexpr std::string_view no_genres = "(no genres listed)";

void index_genres(const model& m, item_index& index) {
    const std::size_t n = index.ids.size();
    index.genres.assign(n, 0);
    index.shared_genres.clear();
    for (std::uint32_t r = 0; r < n; ++r) {
        std::string_view rest = m.stats(r).genres;
        while (!rest.empty()) {
            const auto bar = rest.find('|');
            const auto name = rest.substr(0, bar);
            rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
            if (name.empty() || name == no_genres) continue;
            auto it = std::find(index.genre_names.begin(), index.genre_names.end(), name);
            if (it == index.genre_names.end()) it = index.genre_names.insert(it, std::string(name));
            const auto g = std::size_t(it - index.genre_names.begin());
            index.genres[r] |= bit_of(g);
            if (g >= bandits::max_genres - 1) index.shared_genres[r].push_back(std::uint32_t(g));
        }
    }
}

}  // namespace

std::shared_ptr<const model_snapshot> take_snapshot(const model& m, const snapshot_options& options,
                                                    const model_snapshot* previous) {
    auto s = std::make_shared<model_snapshot>(model_snapshot{.bandit = m.bandit()});
    const std::size_t n = m.items().size();
    s->version = m.version();
    s->clock_ms = m.clock_ms();
    s->dim = m.dim();
    s->new_release_days = m.options().new_release_days;

    if (previous && previous->index && previous->index->ids.size() == n &&
        previous->index->catalog_version == m.catalog_version()) {
        s->index = previous->index;  // rows only ever get appended
    } else {
        auto index = std::make_shared<item_index>();
        index->ids = m.items().ids();
        index->titles.resize(n);
        for (std::uint32_t r = 0; r < n; ++r) index->titles[r] = m.stats(r).title;
        index->catalog_version = m.catalog_version();
        index->rows.reserve(n);
        for (std::uint32_t r = 0; r < n; ++r) index->rows.emplace(index->ids[r], r);
        index_genres(m, *index);
        s->index = std::move(index);
    }
    s->embeddings = m.items().matrix();
    s->embeddings_half = to_half(m.items().matrix());

    s->popularity.resize(n);
    s->first_seen_ms.resize(n);
    s->unavailable.resize(n);
    const double half_life = m.options().half_life_ms();
    float max_pop = 0.0f;
    for (std::uint32_t r = 0; r < n; ++r) {
        const auto& st = m.stats(r);
        s->popularity[r] = static_cast<float>(st.popularity.at(s->clock_ms, half_life));
        s->first_seen_ms[r] = st.released_ms();
        s->unavailable[r] = st.available ? 0 : 1;
        max_pop = std::max(max_pop, s->popularity[r]);
    }
    if (max_pop > 0.0f)
        for (auto& p : s->popularity) p /= max_pop;

    // Unavailable items never enter the fixed lists (they would only take
    // the place of an item that can be shown).
    auto top_rows = [n, &s](std::size_t want, auto better, auto eligible) {
        std::vector<std::uint32_t> rows;
        rows.reserve(n);
        for (std::uint32_t r = 0; r < n; ++r)
            if (!s->unavailable[r] && eligible(r)) rows.push_back(r);
        want = std::min(want, rows.size());
        std::partial_sort(rows.begin(), rows.begin() + std::ptrdiff_t(want), rows.end(), better);
        rows.resize(want);
        return rows;
    };
    s->popular = top_rows(
        std::size_t(options.popular_n),
        [&](std::uint32_t a, std::uint32_t b) { return s->more_popular(a, b); },
        [](std::uint32_t) { return true; });
    // Released within the window, and not in the future: an item announced
    // for later is not new yet (a bad release_ts would otherwise hold the
    // top of this list for good).
    const std::int64_t window_ms = std::int64_t(s->new_release_days * 86400e3);
    s->new_releases = top_rows(
        std::size_t(options.new_release_n),
        [&](std::uint32_t a, std::uint32_t b) {
            return s->first_seen_ms[a] > s->first_seen_ms[b] || (s->first_seen_ms[a] == s->first_seen_ms[b] && a < b);
        },
        // Compared this way round so not_seen_yet (INT64_MIN) cannot overflow.
        [&](std::uint32_t r) {
            return s->first_seen_ms[r] >= s->clock_ms - window_ms && s->first_seen_ms[r] <= s->clock_ms;
        });
    // Lists are kept sorted, so each copy is a prefix; the snapshot is flat
    // (CSR) to keep serving reads cache-friendly.
    const std::size_t per_item = std::size_t(std::max(options.covisit_n, 0));
    s->covisit_offsets.assign(n + 1, 0);
    for (std::uint32_t r = 0; r < n; ++r) {
        auto list = m.covisit().neighbours(r);
        const std::size_t take = std::min(per_item, list.size());
        s->covisit.insert(s->covisit.end(), list.begin(), list.begin() + std::ptrdiff_t(take));
        s->covisit_offsets[r + 1] = static_cast<std::uint32_t>(s->covisit.size());
    }
    return s;
}

}  // namespace marquee::engine
