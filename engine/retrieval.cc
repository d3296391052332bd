#include "engine/retrieval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
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

// The general selection: append rows that can still make the top n; when
// the buffer is full, nth_element keeps the best n and raises the bar to
// the worst of them. Rows come in increasing order, so a later row only
// enters with a strictly higher score than the bar (a tie loses on the
// row), and most rows fail that one float comparison.
std::vector<scored_row> top_n_buffered(std::span<const float> scores, std::size_t n, exclusion_mask excluded) {
    std::vector<scored_row> kept;
    const std::size_t cap = std::max<std::size_t>(4 * n, 64);
    kept.reserve(cap);
    const auto size = static_cast<std::uint32_t>(scores.size());
    bool have_bar = false;
    float bar = 0.0f;
    for (std::uint32_t r = 0; r < size; ++r) {
        if (have_bar && (r = next_above(scores.data(), r, size, bar)) == size) break;
        const float score = scores[r];
        if (std::isnan(score) || excluded_row(excluded, r)) continue;
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

// Selection by a sampled bar, for n small against the catalog: the score
// ranked ~3n/stride among every stride-th eligible row is a bar that about
// 3n rows reach, so one vectorised pass keeps ~3n rows and only those are
// ordered. Every row at or above the bar is kept, so when at least n
// are, the top n are among them; otherwise (an unlucky sample) nullopt.
std::optional<std::vector<scored_row>> top_n_sampled(std::span<const float> scores, std::size_t n,
                                                     exclusion_mask excluded) {
    constexpr std::size_t stride = 16;
    const auto size = static_cast<std::uint32_t>(scores.size());
    if (size < 32 * n) return std::nullopt;
    // The best `keep` sampled scores in a min-heap: most samples fail the
    // comparison with its top, so this is one pass, not a sort.
    const std::size_t keep = (3 * n + stride - 1) / stride;
    thread_local std::vector<float> best;
    best.clear();
    for (std::uint32_t r = 0; r < size; r += stride) {
        const float x = scores[r];
        if (std::isnan(x) || excluded_row(excluded, r)) continue;
        if (best.size() < keep) {
            best.push_back(x);
            std::push_heap(best.begin(), best.end(), std::greater<>());
        } else if (x > best.front()) {
            std::pop_heap(best.begin(), best.end(), std::greater<>());
            best.back() = x;
            std::push_heap(best.begin(), best.end(), std::greater<>());
        }
    }
    if (best.size() < keep) return std::nullopt;
    const float bar = best.front();

    std::vector<scored_row> kept;
    kept.reserve(4 * n);
    // next_above finds scores > bar; step back over the bar itself with a
    // strict bar just below it, so ties with the bar are kept too.
    const float below = std::nextafter(bar, -std::numeric_limits<float>::infinity());
    for (std::uint32_t r = 0; (r = next_above(scores.data(), r, size, below)) < size; ++r)
        if (!std::isnan(scores[r]) && !excluded_row(excluded, r)) kept.push_back({r, scores[r], r});
    if (kept.size() < n) return std::nullopt;
    std::nth_element(kept.begin(), kept.begin() + std::ptrdiff_t(n - 1), kept.end(), better);
    kept.resize(n);
    std::sort(kept.begin(), kept.end(), better);
    return kept;
}

#if defined(__x86_64__)
// scores = items * user for dim a multiple of 8, eight rows at a time:
// eight FMA accumulators, then one transposing horizontal add gives the
// eight dot products in one register. Compiled for AVX2/FMA and chosen at
// run time, since Debian builds for baseline x86-64.
__attribute__((target("avx2,fma"))) void dot_rows_avx2(const float* m, std::size_t rows, std::size_t dim,
                                                        const float* u, float* out) {
    std::size_t r = 0;
    for (; r + 8 <= rows; r += 8) {
        // Named accumulators, not an array: GCC keeps these in registers.
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        const float* row = m + r * dim;
        for (std::size_t c = 0; c < dim; c += 8) {
            const __m256 uc = _mm256_loadu_ps(u + c);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c), uc, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + dim + c), uc, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 2 * dim + c), uc, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 3 * dim + c), uc, a3);
            a4 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 4 * dim + c), uc, a4);
            a5 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 5 * dim + c), uc, a5);
            a6 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 6 * dim + c), uc, a6);
            a7 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 7 * dim + c), uc, a7);
        }
        const __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        const __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
        _mm256_storeu_ps(out + r, _mm256_add_ps(_mm256_permute2f128_ps(h0, h1, 0x20),
                                                _mm256_permute2f128_ps(h0, h1, 0x31)));
    }
    for (; r < rows; ++r) {
        __m256 acc = _mm256_setzero_ps();
        for (std::size_t c = 0; c < dim; c += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(m + r * dim + c), _mm256_loadu_ps(u + c), acc);
        const __m128 q = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        const __m128 p = _mm_add_ps(q, _mm_movehl_ps(q, q));
        out[r] = _mm_cvtss_f32(_mm_add_ss(p, _mm_shuffle_ps(p, p, 1)));
    }
}

bool have_avx2_fma() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return yes;
}
#endif

}  // namespace

std::vector<scored_row> top_n(std::span<const float> scores, std::size_t n, exclusion_mask excluded) {
    if (n == 0) return {};
    if (auto sampled = top_n_sampled(scores, n, excluded)) return std::move(*sampled);
    return top_n_buffered(scores, n, excluded);
}

void dot_rows(Eigen::Map<const online_models::row_matrix> items, std::span<const float> user, float* out) {
    const auto rows = std::size_t(items.rows()), dim = std::size_t(items.cols());
#if defined(__x86_64__)
    if (dim % 8 == 0 && have_avx2_fma()) {
        dot_rows_avx2(items.data(), rows, dim, user.data(), out);
        return;
    }
#endif
    Eigen::Map<Eigen::VectorXf>(out, Eigen::Index(rows)).noalias() =
        items * Eigen::Map<const Eigen::VectorXf>(user.data(), Eigen::Index(user.size()));
}

std::vector<scored_row> top_n_by_dot(Eigen::Map<const online_models::row_matrix> items,
                                     std::span<const float> user, std::size_t n, exclusion_mask excluded,
                                     Eigen::VectorXf& scores) {
    scores.resize(items.rows());
    dot_rows(items, user, scores.data());
    return top_n(std::span<const float>(scores.data(), std::size_t(scores.size())), n, excluded);
}

std::vector<scored_row> top_n_covisited(const neighbour_lookup& lookup, const covisit_query& q, std::size_t n,
                                        exclusion_mask excluded) {
    struct acc {
        float score = 0.0f;
        float best_part = -1.0f;
        std::uint32_t because = 0;
        bool seen = false;
    };
    // Dense scratch by row, reset after use: a few hundred neighbours hit a
    // catalog-sized array faster than they build a hash map.
    thread_local std::vector<acc> scores;
    thread_local std::vector<std::uint32_t> touched;
    touched.clear();
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
            if (nb.row >= scores.size()) scores.resize(std::size_t(nb.row) + 1);
            auto& a = scores[nb.row];
            if (!a.seen) {
                a.seen = true;
                touched.push_back(nb.row);
            }
            a.score += part;
            if (part > a.best_part) {
                a.best_part = part;
                a.because = h;
            }
        }
    }
    std::vector<scored_row> all;
    all.reserve(touched.size());
    for (auto row : touched) {
        all.push_back({row, scores[row].score, scores[row].because});
        scores[row] = acc{};
    }
    const std::size_t want = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + std::ptrdiff_t(want), all.end(), better);
    all.resize(want);
    return all;
}

}  // namespace marquee::engine
