// diversity: per-slate genre caps and MMR re-ranking (Carbonell & Goldstein
// 1998) that keep a slate from collapsing into one genre. Genres are a
// 64-bit mask per candidate (bit g = genre id g). Pure helpers; the slate
// filler applies them slot by slot.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace marquee::bandits {

using genre_mask = std::uint64_t;
inline constexpr int max_genres = 64;

struct diversity_options {
    // At most this many slate items may share any one genre; 0 disables the
    // cap. When every remaining candidate would break it, the cap is lifted
    // for that slot (a short slate is worse than a repeated genre). Default: 0.
    int max_per_genre = 0;
    // MMR trade-off: a candidate ranks by lambda * score - (1 - lambda) *
    // max Jaccard similarity of its genres to the items already chosen.
    // 1 disables it. Scores are rewards in [0, 1], so both terms share a
    // scale. Default: 1.0.
    double mmr_lambda = 1.0;

    bool caps() const { return max_per_genre > 0; }
    bool mmr() const { return mmr_lambda < 1.0; }
};

// |a & b| / |a | b|; 0 when both are empty (no genre is no evidence of similarity).
constexpr double genre_similarity(genre_mask a, genre_mask b) {
    const int any = std::popcount(a | b);
    return any == 0 ? 0.0 : double(std::popcount(a & b)) / double(any);
}

// Items per genre in the slate so far.
class genre_counts {
public:
    void add(genre_mask m) {
        for (; m != 0; m &= m - 1) ++count_[std::countr_zero(m)];
    }
    // True if adding an item of genres `m` keeps every genre within `cap`.
    bool allows(genre_mask m, int cap) const {
        for (; m != 0; m &= m - 1)
            if (count_[std::countr_zero(m)] >= cap) return false;
        return true;
    }
    int count(int genre) const { return count_[genre]; }
    void clear() { count_.fill(0); }

private:
    std::array<int, max_genres> count_{};
};

}  // namespace marquee::bandits
