#include "engine/retrieval.h"

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace marquee::engine {

namespace {

// Strict "a ranks before b": higher score, then lower row. A function object
// (not a function pointer) so the heap algorithms inline it.
struct better_t {
    bool operator()(const scored_row& a, const scored_row& b) const {
        return a.score > b.score || (a.score == b.score && a.row < b.row);
    }
};
constexpr better_t better{};

bool excluded_row(exclusion_mask excluded, std::uint32_t row) {
    return row < excluded.size() && excluded[row] != 0;
}

// The first row at or after `r` whose score is > bar (or unordered: NaN),
// or `size`. Four lanes at a time where SSE2 is there (every x86-64), since
// in top_n almost every row fails the bar.
std::uint32_t next_above(const float* scores, std::uint32_t r, std::uint32_t size, float bar) {
#if defined(__SSE2__)
    const __m128 b = _mm_set1_ps(bar);
    for (; r + 4 <= size; r += 4) {
        // !(x <= bar) is x > bar or x unordered, lane by lane.
        const __m128 le = _mm_cmple_ps(_mm_loadu_ps(scores + r), b);
        if (_mm_movemask_ps(le) != 0xF) break;
    }
#endif
    for (; r < size; ++r)
        if (!(scores[r] <= bar)) return r;
    return size;
}

}  // namespace

std::vector<scored_row> top_n(std::span<const float> scores, std::size_t n, exclusion_mask excluded) {
    std::vector<scored_row> kept;
    if (n == 0) return kept;
    // Buffered selection: append rows that can still make the top n; when
    // the buffer is full, nth_element keeps the best n and raises the bar to
    // the worst of them. Rows come in increasing order, so a later row only
    // enters with a strictly higher score than the bar (a tie loses on the
    // row), and most rows fail that one float comparison: O(N) with a
    // sequential scan instead of a heap update per improving row.
    const std::size_t cap = std::max<std::size_t>(4 * n, 64);
    kept.reserve(cap);
    const auto size = static_cast<std::uint32_t>(scores.size());
    bool have_bar = false;
    float bar = 0.0f;
    for (std::uint32_t r = 0; r < size; ++r) {
        if (have_bar && (r = next_above(scores.data(), r, size, bar)) == size) break;
        const float score = scores[r];
        if (have_bar && !(score > bar)) continue;  // NaN
        if (excluded_row(excluded, r)) continue;
        kept.push_back({r, score, r});
        if (kept.size() == cap) {
            std::nth_element(kept.begin(), kept.begin() + std::ptrdiff_t(n - 1), kept.end(), better);
            kept.resize(n);
            bar = kept[n - 1].score;
            have_bar = true;
        }
    }
    if (kept.size() > n) {
        std::nth_element(kept.begin(), kept.begin() + std::ptrdiff_t(n - 1), kept.end(), better);
        kept.resize(n);
    }
    std::sort(kept.begin(), kept.end(), better);
    return kept;
}

std::vector<scored_row> top_n_by_dot(Eigen::Map<const online_models::row_matrix> items,
                                     std::span<const float> user, std::size_t n, exclusion_mask excluded,
                                     Eigen::VectorXf& scores) {
    Eigen::Map<const Eigen::VectorXf> u(user.data(), Eigen::Index(user.size()));
    scores.resize(items.rows());
    scores.noalias() = items * u;
    return top_n(std::span<const float>(scores.data(), std::size_t(scores.size())), n, excluded);
}

std::vector<scored_row> top_n_covisited(const neighbour_lookup& lookup, const covisit_query& q, std::size_t n,
                                        exclusion_mask excluded) {
    struct acc {
        float score = 0.0f;
        float best_part = -1.0f;
        std::uint32_t because = 0;
    };
    boost::unordered_flat_map<std::uint32_t, acc> scores;
    const std::size_t take = std::min(q.history.size(), std::size_t(std::max(q.history_n, 0)));
    float recency = 1.0f;
    for (std::size_t k = 0; k < take; ++k, recency *= q.recency_decay) {
        const std::uint32_t h = q.history[q.history.size() - 1 - k];
        auto list = lookup(h);
        if (list.empty() || !(list.front().count > 0.0f)) continue;
        const float norm = list.front().count;  // lists are sorted best first
        const std::size_t m = std::min(list.size(), std::size_t(std::max(q.per_item, 0)));
        for (std::size_t j = 0; j < m; ++j) {
            const auto& nb = list[j];
            if (excluded_row(excluded, nb.row)) continue;
            const float part = recency * nb.count / norm;
            auto& a = scores[nb.row];
            a.score += part;
            if (part > a.best_part) {
                a.best_part = part;
                a.because = h;
            }
        }
    }
    std::vector<scored_row> all;
    all.reserve(scores.size());
    for (const auto& [row, a] : scores) all.push_back({row, a.score, a.because});
    const std::size_t want = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + std::ptrdiff_t(want), all.end(), better);
    all.resize(want);
    return all;
}

}  // namespace marquee::engine
