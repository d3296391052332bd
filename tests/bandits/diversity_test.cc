#include "bandits/diversity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "bandits/slate.h"

namespace marquee::bandits {
namespace {

// 30 candidates: the 15 best are all genre 0 (drama), then genres 1..3.
struct catalog {
    std::vector<double> mean, bonus;
    std::vector<candidate_meta> meta;
    catalog() {
        for (int i = 0; i < 30; ++i) {
            mean.push_back(1.0 - 0.01 * i);
            bonus.push_back(0.0);
            const int genre = i < 15 ? 0 : 1 + i % 3;
            meta.push_back({.genres = genre_mask(1) << genre, .new_release = false, .age_days = 100});
        }
    }
};

class fixed_scorer final : public scorer {
public:
    explicit fixed_scorer(const catalog& c) : c_(c) {}
    std::size_t size() const override { return c_.mean.size(); }
    void score(std::span<double> m, std::span<double> b) const override {
        std::copy(c_.mean.begin(), c_.mean.end(), m.begin());
        std::copy(c_.bonus.begin(), c_.bonus.end(), b.begin());
    }
    bool can_sample() const override { return true; }
    void sample(std::span<double> out, normal_source& n) const override {
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = c_.mean[i] + 0.02 * n();
    }

private:
    const catalog& c_;
};

int max_genre_count(const std::vector<slot>& slate, const catalog& c) {
    genre_counts counts;
    for (const auto& s : slate) counts.add(c.meta[s.candidate].genres);
    int most = 0;
    for (int g = 0; g < max_genres; ++g) most = std::max(most, counts.count(g));
    return most;
}

TEST(genre_similarity, is_jaccard) {
    EXPECT_DOUBLE_EQ(genre_similarity(0b011, 0b110), 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(genre_similarity(0b1, 0b1), 1.0);
    EXPECT_DOUBLE_EQ(genre_similarity(0, 0), 0.0);
}

TEST(genre_counts, caps_every_genre_of_a_multi_genre_item) {
    genre_counts c;
    c.add(0b011);
    c.add(0b010);
    EXPECT_TRUE(c.allows(0b001, 2));
    EXPECT_FALSE(c.allows(0b110, 2));  // genre 1 already has 2
    EXPECT_EQ(c.count(1), 2);
}

TEST(diversity, without_it_the_slate_collapses_into_one_genre) {
    catalog c;
    fixed_scorer s(c);
    auto slate = fill_slate(s, {.k = 10, .epsilon = 0.0, .policy = policy_kind::greedy},
                            {.meta = c.meta, .forced = {}, .seed = 1});
    EXPECT_EQ(max_genre_count(slate, c), 10);
}

TEST(diversity, the_genre_cap_holds_for_every_policy_and_seed) {
    catalog c;
    fixed_scorer s(c);
    for (auto kind : {policy_kind::ucb, policy_kind::thompson, policy_kind::greedy, policy_kind::epsilon_greedy,
                      policy_kind::uniform})
        for (std::uint64_t seed = 0; seed < 50; ++seed) {
            slate_options o{.k = 10, .epsilon = 0.2, .policy = kind};
            o.diversity.max_per_genre = 3;
            auto slate = fill_slate(s, o, {.meta = c.meta, .forced = {}, .seed = seed});
            ASSERT_EQ(slate.size(), 10u);
            EXPECT_LE(max_genre_count(slate, c), 3) << to_string(kind) << " seed " << seed;
        }
}

TEST(diversity, capped_propensities_are_over_the_eligible_set) {
    catalog c;
    fixed_scorer s(c);
    slate_options o{.k = 10, .epsilon = 0.5, .policy = policy_kind::epsilon_greedy};
    o.diversity.max_per_genre = 2;
    auto slate = fill_slate(s, o, {.meta = c.meta, .forced = {}, .seed = 3});
    // Slot 3 onward: genre 0 is full (it had 2 after the greedy picks, if no
    // coin fired), so the eligible set shrinks and the uniform share grows.
    for (std::size_t i = 0; i < slate.size(); ++i) {
        int eligible = 0;
        genre_counts counts;
        for (std::size_t j = 0; j < i; ++j) counts.add(c.meta[slate[j].candidate].genres);
        for (std::uint32_t cand = 0; cand < 30; ++cand) {
            bool used = false;
            for (std::size_t j = 0; j < i; ++j) used |= slate[j].candidate == cand;
            if (!used && counts.allows(c.meta[cand].genres, 2)) ++eligible;
        }
        // With 4 genres and a cap of 2, slots 8 and 9 find none eligible:
        // the cap is lifted and every remaining candidate is eligible.
        if (eligible == 0) eligible = 30 - int(i);
        const double share = 0.5 / eligible;
        EXPECT_TRUE(std::abs(slate[i].propensity - share) < 1e-12 || std::abs(slate[i].propensity - 0.5 - share) < 1e-12)
            << "slot " << i << " propensity " << slate[i].propensity << " eligible " << eligible;
    }
}

TEST(diversity, the_cap_is_lifted_when_nothing_else_is_left) {
    catalog c;
    for (auto& m : c.meta) m.genres = 1;  // one genre only
    fixed_scorer s(c);
    slate_options o{.k = 5, .epsilon = 0.0, .policy = policy_kind::greedy};
    o.diversity.max_per_genre = 2;
    EXPECT_EQ(fill_slate(s, o, {.meta = c.meta, .forced = {}, .seed = 1}).size(), 5u);
}

TEST(diversity, mmr_spreads_genres_and_keeps_the_best_first) {
    catalog c;
    fixed_scorer s(c);
    slate_options o{.k = 10, .epsilon = 0.0, .policy = policy_kind::ucb};
    o.diversity.mmr_lambda = 0.7;
    auto slate = fill_slate(s, o, {.meta = c.meta, .forced = {}, .seed = 1});
    // By hand (score = 0.7 mean - 0.3 max-similarity, means 1 - 0.01 i):
    // the best drama (0.7), then one of each other genre (0.595, 0.588,
    // 0.581 beat a second drama's 0.7 * 0.99 - 0.3 = 0.393); once every genre
    // is in, all repeats pay the same 0.3 and dramas win on score again.
    const std::vector<std::uint32_t> expected{0, 15, 16, 17, 1, 2, 3, 4, 5, 6};
    ASSERT_EQ(slate.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(slate[i].candidate, expected[i]) << i;
    EXPECT_EQ(max_genre_count(slate, c), 7);  // vs 10 without MMR
    // Greedy with MMR explores nothing: the penalty's detours are diversity.
    slate_options greedy = o;
    greedy.policy = policy_kind::greedy;
    for (const auto& slot : fill_slate(s, greedy, {.meta = c.meta, .forced = {}, .seed = 1}))
        EXPECT_FALSE(slot.explored) << slot.candidate;
    // The first-slot distribution is unchanged by MMR (no item chosen yet).
    const auto dist = first_slot_distribution(s, o, {.meta = c.meta, .forced = {}, .seed = 1});
    EXPECT_DOUBLE_EQ(dist[0], 1.0);
}

}  // namespace
}  // namespace marquee::bandits

namespace marquee::bandits {
namespace {

// Thompson propensities reuse each draw's argmax across slots while the
// eligible set only shrinks. A tiny MMR weight disables that cache (and
// changes no ranking), so both runs must report the same propensities,
// also across the slot where the genre cap is lifted.
TEST(diversity, cached_thompson_propensities_match_a_full_rescan) {
    catalog c;
    for (std::size_t i = 0; i < c.mean.size(); ++i) c.mean[i] = 0.5 + 0.001 * double(i % 7);
    fixed_scorer s(c);
    for (int cap : {0, 2}) {
        slate_options cached{.k = 12, .epsilon = 0.1, .policy = policy_kind::thompson, .thompson_propensity_draws = 64};
        cached.diversity.max_per_genre = cap;
        slate_options rescanned = cached;
        rescanned.diversity.mmr_lambda = std::nextafter(1.0, 0.0);
        ASSERT_TRUE(rescanned.diversity.mmr());
        for (std::uint64_t seed = 0; seed < 20; ++seed) {
            const slate_inputs in{.meta = c.meta, .forced = {}, .seed = seed};
            auto a = fill_slate(s, cached, in);
            auto b = fill_slate(s, rescanned, in);
            ASSERT_EQ(a.size(), b.size());
            for (std::size_t i = 0; i < a.size(); ++i) {
                ASSERT_EQ(a[i].candidate, b[i].candidate) << "cap " << cap << " seed " << seed << " slot " << i;
                EXPECT_DOUBLE_EQ(a[i].propensity, b[i].propensity) << "cap " << cap << " seed " << seed << " slot " << i;
            }
        }
    }
}

}  // namespace
}  // namespace marquee::bandits
