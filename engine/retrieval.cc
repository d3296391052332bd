#include "engine/retrieval.h"

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>

namespace marquee::engine {

namespace {

// Strict "a ranks before b": higher score, then lower row.
bool better(const scored_row& a, const scored_row& b) {
    return a.score > b.score || (a.score == b.score && a.row < b.row);
}

bool excluded_row(exclusion_mask excluded, std::uint32_t row) {
    return row < excluded.size() && excluded[row] != 0;
}

}  // namespace

std::vector<scored_row> top_n(std::span<const float> scores, std::size_t n, exclusion_mask excluded) {
    std::vector<scored_row> heap;
    if (n == 0) return heap;
    heap.reserve(n + 1);
    // Min-heap of the best n so far (the worst kept on top): O(N log n) with
    // n << N, and no N-sized scratch as a full partial_sort would need.
    const auto size = static_cast<std::uint32_t>(scores.size());
    for (std::uint32_t r = 0; r < size; ++r) {
        if (excluded_row(excluded, r)) continue;
        const scored_row c{r, scores[r], r};
        if (heap.size() < n) {
            heap.push_back(c);
            std::push_heap(heap.begin(), heap.end(), better);
        } else if (better(c, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), better);
            heap.back() = c;
            std::push_heap(heap.begin(), heap.end(), better);
        }
    }
    std::sort_heap(heap.begin(), heap.end(), better);
    return heap;
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
