#include "engine/retrieval.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
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

// A bar that about 2n of the eligible scores reach, for n small against
// the catalog: the score ranked ~2n/stride among every stride-th eligible
// one. score_at(i) is the i-th score (NaN: none) and eligible(i) whether
// it may be returned; nullopt when there are too few to sample. The rank
// comes from a min-heap of the best `keep` samples seen, not from ordering
// the sample: after the first few, almost every sample fails one comparison
// with the heap's top (this was the costliest step of the selection).
template <class ScoreAt, class Eligible>
std::optional<float> sampled_bar(std::uint32_t size, std::size_t n, ScoreAt score_at, Eligible eligible) {
    constexpr std::size_t stride = 16;
    if (size < 32 * n) return std::nullopt;
    const std::size_t keep = (2 * n + stride - 1) / stride;
    thread_local std::vector<float> best;  // min-heap: best.front() is the keep-th best so far
    best.clear();
    for (std::uint32_t i = 0; i < size; i += stride) {
        if (!eligible(i)) continue;
        const float score = score_at(i);
        if (std::isnan(score)) continue;
        if (best.size() < keep) {
            best.push_back(score);
            std::push_heap(best.begin(), best.end(), std::greater<>());
        } else if (score > best.front()) {
            std::pop_heap(best.begin(), best.end(), std::greater<>());
            best.back() = score;
            std::push_heap(best.begin(), best.end(), std::greater<>());
        }
    }
    if (best.size() < keep) return std::nullopt;
    return best.front();
}

// Calls keep(i) for every i in [from, to) with scores[i] >= bar (never
// NaN), in order. Eight per step where SSE2 is there (every x86-64): almost
// all fail, and the few that pass are found from a bit mask, not a branch
// per score.
template <class Keep>
void for_each_at_or_above(const float* scores, std::uint32_t from, std::uint32_t to, float bar, Keep keep) {
    std::uint32_t i = from;
#if defined(__SSE2__)
    const __m128 b = _mm_set1_ps(bar);
    for (; i + 8 <= to; i += 8) {
        unsigned mask = unsigned(_mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(scores + i), b))) |
                        unsigned(_mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(scores + i + 4), b))) << 4;
        for (; mask != 0; mask &= mask - 1) keep(i + std::uint32_t(__builtin_ctz(mask)));
    }
#endif
    for (; i < to; ++i)
        if (scores[i] >= bar) keep(i);
}

// Appends every eligible row scoring at least `bar` to `kept` (never NaN).
void keep_at_or_above(std::span<const float> scores, float bar, exclusion_mask excluded,
                      std::vector<scored_row>& kept) {
    for_each_at_or_above(scores.data(), 0, std::uint32_t(scores.size()), bar, [&](std::uint32_t r) {
        if (!excluded_row(excluded, r)) kept.push_back({r, scores[r], r});
    });
}

// (score, row) as one integer that orders as `better` does: the score's
// bits made monotone in the high half, the row inverted in the low half, so
// the selection compares integers, not a float and then a tie-break.
std::uint64_t rank_key(float score, std::uint32_t row) {
    // + 0.0f turns -0 into +0, which `better` counts as the same score.
    const auto bits = std::bit_cast<std::uint32_t>(score + 0.0f);
    const std::uint32_t monotone = (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
    return std::uint64_t(monotone) << 32 | ~row;
}

scored_row from_rank_key(std::uint64_t key) {
    const auto monotone = std::uint32_t(key >> 32), row = ~std::uint32_t(key);
    const auto bits = (monotone & 0x80000000u) ? monotone & 0x7FFFFFFFu : ~monotone;
    return {row, std::bit_cast<float>(bits), row};
}

// The best min(n, kept.size()) of `kept` (any order, no NaN), best first,
// `because` set to the row. A score of -0 comes back as +0.
std::vector<scored_row> best_n(const std::vector<scored_row>& kept, std::size_t n) {
    n = std::min(n, kept.size());
    if (n == 0) return {};
    thread_local std::vector<std::uint64_t> keys;
    keys.clear();
    for (const auto& k : kept) keys.push_back(rank_key(k.score, k.row));
    std::nth_element(keys.begin(), keys.begin() + std::ptrdiff_t(n - 1), keys.end(), std::greater<>());
    keys.resize(n);
    std::sort(keys.begin(), keys.end(), std::greater<>());
    std::vector<scored_row> out;
    out.reserve(n);
    for (auto key : keys) out.push_back(from_rank_key(key));
    return out;
}

// Selection by a sampled bar: one pass keeps the ~2n rows at or above it,
// and only those are ordered. Every row at or above the bar is kept, so when
// at least n are, the top n are among them; otherwise (an unlucky sample)
// nullopt.
std::optional<std::vector<scored_row>> top_n_sampled(std::span<const float> scores, std::size_t n,
                                                     exclusion_mask excluded) {
    const auto bar = sampled_bar(
        std::uint32_t(scores.size()), n, [&](std::uint32_t r) { return scores[r]; },
        [&](std::uint32_t r) { return !excluded_row(excluded, r); });
    if (!bar) return std::nullopt;
    std::vector<scored_row> kept;
    kept.reserve(4 * n);
    keep_at_or_above(scores, *bar, excluded, kept);
    if (kept.size() < n) return std::nullopt;
    return best_n(kept, n);
}

// Indices of `values` (finite, >= 0) by decreasing value, ties by index: a
// stable radix sort, three passes of 11 bits over keys that order as the
// values do (a non-negative float's bits do), since std::sort took 3x the
// rest of a snapshot's publishing.
std::vector<std::uint32_t> by_decreasing(std::span<const float> values) {
    const std::size_t size = values.size();
    std::vector<std::uint32_t> order(size), next(size), key(size), next_key(size);
    std::iota(order.begin(), order.end(), 0u);
    for (std::size_t i = 0; i < size; ++i) key[i] = ~std::bit_cast<std::uint32_t>(values[i]);
    for (int shift = 0; shift < 32; shift += 11) {
        std::array<std::uint32_t, 2049> start{};
        for (auto k : key) ++start[((k >> shift) & 2047) + 1];
        for (std::size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
        for (std::size_t i = 0; i < size; ++i) {
            const auto at = start[(key[i] >> shift) & 2047]++;
            next[at] = order[i];
            next_key[at] = key[i];
        }
        order.swap(next);
        key.swap(next_key);
    }
    return order;
}

#if defined(__x86_64__)
// Every kernel below is compiled for AVX2, FMA and F16C (every AVX2 CPU has
// F16C) and chosen at run time, since Debian builds for baseline x86-64.
#define MARQUEE_AVX2 __attribute__((target("avx2,fma,f16c")))

bool have_avx2() {
    static const bool yes =
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    return yes;
}

// Eight stored values as floats: float rows, or binary16 ones.
MARQUEE_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
MARQUEE_AVX2 inline __m256 load8(const std::uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The sum of acc's lanes, in the order dot_rows_x8's transposing adds use
// for each of its eight rows, so a row scores the same bits alone as in a
// block: ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)).
MARQUEE_AVX2 inline float lane_sum(__m256 acc) {
    const __m256 pairs = _mm256_hadd_ps(acc, acc);
    const __m256 quads = _mm256_hadd_ps(pairs, pairs);
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(quads), _mm256_extractf128_ps(quads, 1)));
}

template <class T>
MARQUEE_AVX2 inline float dot_row_avx2(const T* row, std::size_t dim, const float* u) {
    __m256 acc = _mm256_setzero_ps();
    for (std::size_t c = 0; c < dim; c += 8) acc = _mm256_fmadd_ps(load8(row + c), _mm256_loadu_ps(u + c), acc);
    return lane_sum(acc);
}

// scores = items * user for dim a multiple of 8, eight rows at a time:
// eight FMA accumulators, then one transposing horizontal add gives the
// eight dot products in one register.
template <class T>
MARQUEE_AVX2 void dot_rows_avx2(const T* m, std::size_t rows, std::size_t dim, const float* u, float* out) {
    std::size_t r = 0;
    for (; r + 8 <= rows; r += 8) {
        // Named accumulators, not an array: GCC keeps these in registers.
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        const T* row = m + r * dim;
        for (std::size_t c = 0; c < dim; c += 8) {
            const __m256 uc = _mm256_loadu_ps(u + c);
            a0 = _mm256_fmadd_ps(load8(row + c), uc, a0);
            a1 = _mm256_fmadd_ps(load8(row + dim + c), uc, a1);
            a2 = _mm256_fmadd_ps(load8(row + 2 * dim + c), uc, a2);
            a3 = _mm256_fmadd_ps(load8(row + 3 * dim + c), uc, a3);
            a4 = _mm256_fmadd_ps(load8(row + 4 * dim + c), uc, a4);
            a5 = _mm256_fmadd_ps(load8(row + 5 * dim + c), uc, a5);
            a6 = _mm256_fmadd_ps(load8(row + 6 * dim + c), uc, a6);
            a7 = _mm256_fmadd_ps(load8(row + 7 * dim + c), uc, a7);
        }
        const __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        const __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
        _mm256_storeu_ps(out + r, _mm256_add_ps(_mm256_permute2f128_ps(h0, h1, 0x20),
                                                _mm256_permute2f128_ps(h0, h1, 0x31)));
    }
    for (; r < rows; ++r) out[r] = dot_row_avx2(m + r * dim, dim, u);
}

// out = binary16(in), rows x dim, row-major, and norms[r] = row r's float
// norm, rounded up (a bound, not an estimate); false (out unspecified) if a
// value is NaN or beyond binary16's largest, 65504.
MARQUEE_AVX2 bool to_half_avx2(const float* in, std::size_t rows, std::size_t dim, std::uint16_t* out,
                               float* norms) {
    const __m256 largest = _mm256_set1_ps(65504.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    // A float sum of dim squares is within dim * 2^-24 of exact.
    const double widen = 1.0 + double(dim) * 0x1p-23;
    for (std::size_t r = 0; r < rows; ++r) {
        __m256 squares = _mm256_setzero_ps();
        __m256 fits = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
        for (std::size_t c = 0; c < dim; c += 8) {
            const __m256 x = _mm256_loadu_ps(in + r * dim + c);
            // |x| <= 65504, false for NaN.
            fits = _mm256_and_ps(fits, _mm256_cmp_ps(_mm256_andnot_ps(sign, x), largest, _CMP_LE_OQ));
            squares = _mm256_fmadd_ps(x, x, squares);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + r * dim + c),
                             _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
        }
        if (_mm256_movemask_ps(fits) != 0xFF) return false;
        norms[r] = std::nextafter(float(std::sqrt(double(lane_sum(squares)) * widen)), HUGE_VALF);
    }
    return true;
}

// Appends every eligible scanned row in positions [from, to) whose score is
// at least `bar` (never NaN) to `kept`, as (item row, score), and raises
// `best` to the best of them.
void keep_scanned(const float* approx, std::uint32_t from, std::uint32_t to, float bar,
                  const std::uint32_t* order, exclusion_mask excluded, std::vector<scored_row>& kept, float& best) {
    for_each_at_or_above(approx, from, to, bar, [&](std::uint32_t p) {
        const std::uint32_t row = order[p];
        if (excluded_row(excluded, row)) return;
        kept.push_back({row, approx[p], row});
        best = std::max(best, approx[p]);
    });
}
#endif

// The binary16 scan (see top_n_by_dot), or nullopt to scan in float: no
// usable copy, or a user vector that is not finite.
std::optional<std::vector<scored_row>> top_n_by_half_dot(Eigen::Map<const online_models::row_matrix> items,
                                                         std::span<const float> user, std::size_t n,
                                                         exclusion_mask excluded, const half_matrix& half) {
#if defined(__x86_64__)
    const std::size_t rows = std::size_t(items.rows()), dim = user.size();
    if (half.empty() || half.rows != rows || half.dim != dim || !have_avx2()) return std::nullopt;
    // |float score - binary16 score| <= slack for every row: binary16 keeps
    // 11 significant bits (relative error <= 2^-11, below 2^-14 an absolute
    // 2^-25), and each float sum of d products is within ~d 2^-24 of exact.
    // Doubled for safety; the cost is only a few more rescored rows.
    double user_norm = 0.0;
    for (float x : user) user_norm += double(x) * double(x);
    user_norm = std::sqrt(user_norm);
    const double d = double(dim);
    const double slack =
        2.0 * user_norm * (half.max_row_norm * (0x1p-11 + 2.5 * d * 0x1p-24) + std::sqrt(d) * 0x1p-25);
    if (!std::isfinite(slack)) return std::nullopt;
    // A float score is at most |user| |row| plus the float sum's error: the
    // bound on every row from position p on, rows being by decreasing norm.
    auto reachable = [&](std::size_t p) {
        return user_norm * double(half.norms[p]) * (1.0 + 4.0 * d * 0x1p-24) + d * 0x1p-126;
    };

    // `bar` is the n-th best binary16 score of the eligible rows scanned so
    // far, and only rises. The n rows at or above it have float scores >=
    // bar - slack, so the n-th best float score s_n is too: a row whose bound
    // is below that cannot even tie, nor can any later row, and a top-n row
    // scores >= s_n - slack >= bar - 2 slack in binary16. `kept` holds every
    // scanned eligible row at or above that.
    std::vector<scored_row> kept;
    kept.reserve(4 * n + 256);
    bool have_bar = false;
    double bar = 0.0;
    float keep_from = -HUGE_VALF;
    float best = -HUGE_VALF;  // the best score kept so far
    std::size_t raised_with = 0;
    auto raise_bar = [&] {
        std::nth_element(kept.begin(), kept.begin() + std::ptrdiff_t(n - 1), kept.end(),
                         [](const auto& x, const auto& y) { return x.score > y.score; });
        bar = double(kept[n - 1].score);
        have_bar = true;
        keep_from = float(std::nextafter(bar - 2.0 * slack, -HUGE_VAL));
        std::erase_if(kept, [&](const auto& k) { return k.score < keep_from; });
        raised_with = kept.size();
    };
    thread_local std::vector<float> approx;
    approx.resize(rows);
    // First the longest quarter of the rows (at least 32n, for the sample),
    // selected as top_n does: a bar sampled from them keeps ~2n rows, and
    // holds if at least n reach it. Few rows past it come near the bar then,
    // even where norms barely differ and the scan cannot stop early.
    const std::size_t prefix = std::min(rows, std::max(rows / 4, 32 * n));
    dot_rows_avx2(half.values.data(), prefix, dim, user.data(), approx.data());
    const auto guess = sampled_bar(
        std::uint32_t(prefix), n, [&](std::uint32_t p) { return approx[p]; },
        [&](std::uint32_t p) { return !excluded_row(excluded, half.order[p]); });
    auto keep_prefix = [&](float from) {
        keep_scanned(approx.data(), 0, std::uint32_t(prefix), from, half.order.data(), excluded, kept, best);
    };
    if (guess) {
        keep_prefix(float(std::nextafter(double(*guess) - 2.0 * slack, -HUGE_VAL)));
        const auto reached = std::count_if(kept.begin(), kept.end(), [&](const auto& k) { return k.score >= *guess; });
        if (std::size_t(reached) < n) {
            kept.clear();  // an unlucky sample: keep them all
            best = -HUGE_VALF;
        }
    }
    if (kept.empty()) keep_prefix(-HUGE_VALF);
    if (kept.size() >= n) raise_bar();
    // Then the rest, 256 rows at a time, until the bound falls below the bar.
    constexpr std::size_t chunk = 256;
    for (std::size_t from = prefix; from < rows; from += chunk) {
        // A raise is an nth_element: worth it only once the bound has fallen
        // below the best score kept (no bar can pass that), and when enough
        // rows came in since the last one to move the bar.
        if (kept.size() >= n && kept.size() >= raised_with + n && reachable(from) < double(best) - slack)
            raise_bar();
        if (have_bar && reachable(from) < bar - slack) break;
        const std::size_t to = std::min(rows, from + chunk);
        dot_rows_avx2(half.values.data() + from * dim, to - from, dim, user.data(), approx.data() + from);
        keep_scanned(approx.data(), std::uint32_t(from), std::uint32_t(to), keep_from, half.order.data(), excluded,
                     kept, best);
        if (kept.size() >= 4 * n + 64) raise_bar();
    }
    // Rescoring a few extra rows costs less than an nth_element to drop them.
    if (kept.size() > 2 * n) raise_bar();
    for (auto& k : kept) k.score = dot_row_avx2(items.data() + std::size_t(k.row) * dim, dim, user.data());
    return best_n(kept, n);
#else
    (void)items, (void)user, (void)n, (void)excluded, (void)half;
    return std::nullopt;
#endif
}

}  // namespace

std::vector<scored_row> top_n(std::span<const float> scores, std::size_t n, exclusion_mask excluded) {
    if (n == 0) return {};
    if (auto sampled = top_n_sampled(scores, n, excluded)) return std::move(*sampled);
    return top_n_buffered(scores, n, excluded);
}

void dot_rows(Eigen::Map<const online_models::row_matrix> items, std::span<const float> user, float* out) {
    const auto rows = std::size_t(items.rows()), dim = std::size_t(items.cols());
#if defined(__x86_64__)
    if (dim % 8 == 0 && have_avx2()) {
        dot_rows_avx2(items.data(), rows, dim, user.data(), out);
        return;
    }
#endif
    Eigen::Map<Eigen::VectorXf>(out, Eigen::Index(rows)).noalias() =
        items * Eigen::Map<const Eigen::VectorXf>(user.data(), Eigen::Index(user.size()));
}

float dot_row(Eigen::Map<const online_models::row_matrix> items, std::uint32_t row, std::span<const float> user) {
    const auto dim = std::size_t(items.cols());
#if defined(__x86_64__)
    if (dim % 8 == 0 && have_avx2()) return dot_row_avx2(items.data() + std::size_t(row) * dim, dim, user.data());
#endif
    return items.row(row).dot(Eigen::Map<const Eigen::RowVectorXf>(user.data(), Eigen::Index(user.size())));
}

half_matrix to_half(Eigen::Map<const online_models::row_matrix> items) {
    half_matrix out;
#if defined(__x86_64__)
    const auto rows = std::size_t(items.rows()), dim = std::size_t(items.cols());
    if (rows == 0 || dim % 8 != 0 || !have_avx2()) return out;
    // Converted in item order (one sequential pass over the float matrix),
    // then the binary16 rows, half the bytes, moved into norm order.
    std::vector<float> norms(rows);
    std::vector<std::uint16_t> by_row(rows * dim);
    if (!to_half_avx2(items.data(), rows, dim, by_row.data(), norms.data())) return out;
    out.order = by_decreasing(norms);
    out.norms.resize(rows);
    out.values.resize(rows * dim);
    for (std::size_t i = 0; i < rows; ++i) {
        const std::size_t row = out.order[i];
        out.norms[i] = norms[row];
        std::copy_n(by_row.data() + row * dim, dim, out.values.data() + i * dim);
    }
    out.max_row_norm = out.norms.front();
    out.rows = rows;
    out.dim = dim;
#else
    (void)items;
#endif
    return out;
}

std::vector<scored_row> top_n_by_dot(Eigen::Map<const online_models::row_matrix> items,
                                     std::span<const float> user, std::size_t n, exclusion_mask excluded,
                                     const half_matrix* half) {
    if (n == 0) return {};
    if (half)
        if (auto found = top_n_by_half_dot(items, user, n, excluded, *half)) return std::move(*found);
    thread_local std::vector<float> scores;
    scores.resize(std::size_t(items.rows()));
    dot_rows(items, user, scores.data());
    return top_n(scores, n, excluded);
}

std::vector<scored_row> top_n_covisited(const neighbour_lookup& lookup, const covisit_query& q, std::size_t n,
                                        exclusion_mask excluded) {
    // One accumulator per neighbour row, in a small open-addressing table
    // (load factor <= 1/2): memory grows with the neighbours read (history_n
    // x per_item), not with the catalog, and the table stays in L1.
    constexpr std::uint32_t empty = std::numeric_limits<std::uint32_t>::max();
    struct acc {
        std::uint32_t row = empty;
        float score = 0.0f;
        float best_part = -1.0f;
        std::uint32_t because = 0;
    };
    thread_local std::vector<acc> table;
    thread_local std::vector<std::uint32_t> used;  // slots, in first-touch order
    used.clear();
    const std::size_t take = std::min(q.history.size(), std::size_t(std::max(q.history_n, 0)));
    const std::size_t per_item = std::size_t(std::max(q.per_item, 0));
    int bits = 4;
    while ((std::size_t(1) << bits) < 2 * take * per_item) ++bits;
    if (table.size() < (std::size_t(1) << bits)) table.assign(std::size_t(1) << bits, acc{});
    // Fibonacci hashing: the product's top bits, which every bit of row moves.
    const int shift = 32 - bits;
    const std::uint32_t mask = (std::uint32_t(1) << bits) - 1;
    auto accumulator = [&](std::uint32_t row) -> acc& {
        for (std::uint32_t i = (row * 2654435769u) >> shift;; i = (i + 1) & mask) {
            auto& a = table[i];
            if (a.row == row) return a;
            if (a.row == empty) {
                a.row = row;
                used.push_back(i);
                return a;
            }
        }
    };
    float recency = 1.0f;
    for (std::size_t k = 0; k < take; ++k, recency *= q.recency_decay) {
        const std::uint32_t h = q.history[q.history.size() - 1 - k];
        auto list = lookup(h);
        if (list.empty() || !(list.front().count > 0.0f)) continue;
        const float norm = list.front().count;  // lists are sorted best first
        const std::size_t m = std::min(list.size(), per_item);
        for (std::size_t j = 0; j < m; ++j) {
            const auto& nb = list[j];
            if (excluded_row(excluded, nb.row)) continue;
            const float part = recency * nb.count / norm;
            auto& a = accumulator(nb.row);
            a.score += part;
            if (part > a.best_part) {
                a.best_part = part;
                a.because = h;
            }
        }
    }
    std::vector<scored_row> all;
    all.reserve(used.size());
    for (auto slot : used) {
        all.push_back({table[slot].row, table[slot].score, table[slot].because});
        table[slot] = acc{};
    }
    const std::size_t want = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + std::ptrdiff_t(want), all.end(), better);
    all.resize(want);
    return all;
}

}  // namespace marquee::engine
