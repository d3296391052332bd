#include "online_models/covisitation.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/rng.h"

namespace marquee::online_models {
namespace {

float count_of(const covisitation& c, std::uint32_t from, std::uint32_t to) {
    for (const auto& n : c.neighbours(from))
        if (n.row == to) return n.count;
    return 0.0f;
}

TEST(covisitation, counts_are_exact_and_symmetric_under_capacity) {
    covisitation c({.capacity = 8, .window = 5});
    c.add_pair(1, 2, 1.0f);
    c.add_pair(2, 1, 0.5f);
    c.add_pair(1, 3, 1.0f);
    c.add_pair(4, 4, 9.0f);  // an item is not its own neighbour
    EXPECT_FLOAT_EQ(count_of(c, 1, 2), 1.5f);
    EXPECT_FLOAT_EQ(count_of(c, 2, 1), 1.5f);
    EXPECT_FLOAT_EQ(count_of(c, 3, 1), 1.0f);
    EXPECT_TRUE(c.neighbours(4).empty());
    EXPECT_TRUE(c.neighbours(99).empty());
    ASSERT_EQ(c.neighbours(1).size(), 2u);
    EXPECT_EQ(c.neighbours(1)[0].row, 2u) << "best first";
    for (const auto& n : c.neighbours(1)) EXPECT_EQ(n.error, 0.0f);
}

TEST(covisitation, memory_stays_bounded_and_heavy_neighbours_survive_noise) {
    const int capacity = 10;
    covisitation c({.capacity = capacity, .window = 5});
    core::splitmix64 rng(3);
    std::map<std::pair<std::uint32_t, std::uint32_t>, float> truth;
    // Items 0..49; item 0 is watched with 1, 2, 3 often, with everything
    // else rarely; 40k random pairs of noise besides.
    for (int i = 0; i < 40'000; ++i) {
        std::uint32_t a, b;
        if (i % 4 == 0) {
            a = 0;
            b = 1 + std::uint32_t(rng.below(3));
        } else {
            a = std::uint32_t(rng.below(50));
            b = std::uint32_t(rng.below(50));
        }
        c.add_pair(a, b, 1.0f);
        if (a != b) {
            truth[{a, b}] += 1.0f;
            truth[{b, a}] += 1.0f;
        }
    }
    EXPECT_LE(c.entries(), c.rows() * std::size_t(capacity));
    for (std::uint32_t r = 0; r < c.rows(); ++r) {
        auto list = c.neighbours(r);
        EXPECT_LE(list.size(), std::size_t(capacity));
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (i) {
                EXPECT_GE(list[i - 1].count, list[i].count) << "row " << r << " not sorted";
            }
            // Space-Saving bounds: true <= count <= true + error.
            const float t = truth[{r, list[i].row}];
            EXPECT_GE(list[i].count + 1e-3f, t);
            EXPECT_LE(list[i].count - list[i].error, t + 1e-3f);
        }
    }
    // The three heavy neighbours of item 0 are its top three.
    std::set<std::uint32_t> top;
    for (int i = 0; i < 3; ++i) top.insert(c.neighbours(0)[std::size_t(i)].row);
    EXPECT_EQ(top, (std::set<std::uint32_t>{1, 2, 3}));
}

TEST(covisitation, a_heavy_list_keeps_growing_by_small_weights) {
    covisitation c({.capacity = 4, .window = 5});
    // Far past where a float count stops taking +0.1 (~2M) or even +1 (~16.7M).
    for (int i = 0; i < 3'000'000; ++i) c.add_pair(1, 2, 1.0f);
    c.add_pair(1, 3, 1.0f);
    const float heavy = count_of(c, 1, 2);
    EXPECT_LT(heavy, covisitation::rescale_at) << "halved, not saturated";
    EXPECT_GT(heavy / count_of(c, 1, 3), 30'000.0f) << "the heavy pair still dwarfs the light one";
    for (int i = 0; i < 10; ++i) c.add_pair(1, 2, 0.1f);
    EXPECT_GT(count_of(c, 1, 2), heavy + 0.5f) << "small weights still count";
    EXPECT_EQ(c.neighbours(1)[0].row, 2u);
    // The other side of the pair was halved as often: the same count.
    EXPECT_FLOAT_EQ(count_of(c, 2, 1), count_of(c, 1, 2));
}

TEST(covisitation, eviction_recycles_the_smallest_counter) {
    covisitation c({.capacity = 2, .window = 5});
    c.add_pair(0, 1, 3.0f);
    c.add_pair(0, 2, 1.0f);
    c.add_pair(0, 3, 0.5f);  // evicts 2 (count 1): 3 inherits 1 + 0.5, error 1
    auto list = c.neighbours(0);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].row, 1u);
    EXPECT_EQ(list[1].row, 3u);
    EXPECT_FLOAT_EQ(list[1].count, 1.5f);
    EXPECT_FLOAT_EQ(list[1].error, 1.0f);
}

TEST(covisitation, restore_sorts_and_trims_to_capacity) {
    covisitation c({.capacity = 2, .window = 5});
    c.restore(3, {{7, 1.0f, 0.0f}, {8, 5.0f, 0.0f}, {9, 2.0f, 0.5f}});
    auto list = c.neighbours(3);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].row, 8u);
    EXPECT_EQ(list[1].row, 9u);
    EXPECT_EQ(c.rows(), 4u);
}

}  // namespace
}  // namespace marquee::online_models
