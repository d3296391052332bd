// covisitation: bounded item-to-item co-occurrence ("because you watched X").
// Each item keeps at most `capacity` neighbours, maintained with Space-Saving
// (Metwally, Agrawal & El Abbadi, "Efficient computation of frequent and
// top-k elements in data streams", ICDT 2005): a new neighbour evicts the
// smallest and inherits its count as an overestimate, so memory is
// O(items x capacity) however long the stream, and any neighbour whose true
// weight exceeds (item's total weight / capacity) is guaranteed to be kept.
// A list that grows very heavy is halved whole, so its counts stay precise.
// Not thread-safe: one writer (the learner); serving reads snapshot copies.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace marquee::online_models {

struct covisit_options {
    // Neighbours kept per item (Space-Saving counters). Default: 32.
    int capacity = 32;
    // A positive event pairs its item with this many of the user's most
    // recent earlier items. Default: 5.
    int window = 5;
};

struct neighbour {
    std::uint32_t row = 0;  // the neighbour's item row
    float count = 0.0f;     // estimated co-visitation weight (>= true weight)
    float error = 0.0f;     // largest possible overestimate in `count`
};

class covisitation {
public:
    // A list whose top count reaches this is halved (see add_one): float32
    // counts then keep a resolution of 1/128 or better.
    static constexpr float rescale_at = 65536.0f;

    explicit covisitation(covisit_options options = {}) : options_(options) {}

    const covisit_options& options() const { return options_; }

    // Counts one co-visit of `a` and `b` with weight `w` in both directions.
    // Pairs of an item with itself are ignored.
    void add_pair(std::uint32_t a, std::uint32_t b, float w);

    // Neighbours of `row`, highest count first (ties: earliest inserted).
    // Empty for unknown rows.
    std::span<const neighbour> neighbours(std::uint32_t row) const {
        if (row >= lists_.size()) return {};
        return lists_[row];
    }

    // Replaces the neighbours of `row` (used when loading persisted state).
    // Keeps at most `capacity`, re-sorted by count.
    void restore(std::uint32_t row, std::vector<neighbour> list);

    // Rows that have a list (0..rows()-1; some may be empty).
    std::size_t rows() const { return lists_.size(); }
    // Total neighbour entries held: at most rows() x capacity.
    std::size_t entries() const;

private:
    void add_one(std::uint32_t from, std::uint32_t to, float w);

    covisit_options options_;
    // Per item, sorted by count descending, so the eviction victim is back().
    std::vector<std::vector<neighbour>> lists_;
};

}  // namespace marquee::online_models
