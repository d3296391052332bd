// retrieval: the candidate sources behind a recommendation, as pure functions
// over plain views so serving (model_snapshot) and offline evaluation (the
// live model) share them: embedding top-N over the whole catalog (a
// vectorised scan of the contiguous item matrix, then a selection that orders
// only the rows near the top) and co-visitation neighbours of the user's
// recent items. Allocation is limited to the outputs and per-thread scratch.
// Thread-safe: no shared state.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "online_models/covisitation.h"
#include "online_models/embedding_table.h"

namespace marquee::engine {

struct scored_row {
    std::uint32_t row = 0;
    float score = 0.0f;
    // For co-visitation: the history item that contributed most (else == row).
    std::uint32_t because = 0;
};

// Rows already shown/consumed (1) are never returned; size = catalog size.
using exclusion_mask = std::span<const std::uint8_t>;

// The n highest `scores` among non-excluded rows, best first; ties go to the
// lower row, so the result equals a full stable sort's prefix. NaN scores
// are never returned.
std::vector<scored_row> top_n(std::span<const float> scores, std::size_t n, exclusion_mask excluded);

// scores = items * user, `out` holding items.rows() floats. AVX2/FMA when
// the CPU has AVX2, FMA and F16C and dim is a multiple of 8 (scores may then
// differ from a plain loop's in the last bits: another summation order).
void dot_rows(Eigen::Map<const online_models::row_matrix> items, std::span<const float> user, float* out);

// One row's score, equal to what dot_rows gives that row on CPUs with AVX2
// and dims that are a multiple of 8 (elsewhere within float rounding of it).
float dot_row(Eigen::Map<const online_models::row_matrix> items, std::uint32_t row, std::span<const float> user);

// A binary16 copy of an item matrix for the retrieval scan: half the bytes
// to read per request (10k items x 32 dims then fit a 1 MB L2 cache), rows
// in order of decreasing norm so a scan can stop where no later row can
// reach the top (by Cauchy-Schwarz, score <= |user| |row|).
struct half_matrix {
    std::vector<std::uint16_t> values;  // rows x dim, row-major, IEEE binary16, by decreasing norm
    std::vector<std::uint32_t> order;   // item row of values' i-th row
    std::vector<float> norms;           // float norm of values' i-th row, rounded up
    std::size_t rows = 0;
    std::size_t dim = 0;
    double max_row_norm = 0.0;  // of the float rows, for the rounding bound
    bool empty() const { return rows == 0; }
};

// Empty (scans stay in float) unless the CPU has AVX2, FMA and F16C, dim is
// a multiple of 8, and every value is finite and inside binary16's range.
half_matrix to_half(Eigen::Map<const online_models::row_matrix> items);

// Embedding retrieval: top_n of the scores dot_rows gives; `items` is
// rows x dim, row-major. With a `half` copy of `items` the scan runs in
// binary16, by decreasing row norm, until no later row can reach the n-th
// best; every row within its rounding bound of the n-th best is rescored in
// float, so the result is the same as without it.
std::vector<scored_row> top_n_by_dot(Eigen::Map<const online_models::row_matrix> items,
                                     std::span<const float> user, std::size_t n, exclusion_mask excluded,
                                     const half_matrix* half = nullptr);

// Neighbours of one history item, best first, as (row, count) pairs.
using neighbour_lookup = std::function<std::span<const online_models::neighbour>(std::uint32_t row)>;

struct covisit_query {
    // History rows, oldest first; only the last `history_n` are expanded.
    std::span<const std::uint32_t> history;
    int history_n = 10;
    // Neighbours read per history item. Default: 20.
    int per_item = 20;
    // Weight of the k-th most recent history item: recency_decay^k.
    float recency_decay = 0.8f;
};

// Co-visitation retrieval: each neighbour scores sum over history items h of
// recency(h) * count(h, n) / count(h, best neighbour of h), so a heavy item
// does not drown the rest. `because` is the history item that contributed
// most. Best first, top n, excluded rows dropped.
std::vector<scored_row> top_n_covisited(const neighbour_lookup& lookup, const covisit_query& query, std::size_t n,
                                        exclusion_mask excluded);

}  // namespace marquee::engine
