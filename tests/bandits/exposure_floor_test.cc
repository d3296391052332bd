#include "bandits/exposure_floor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "bandits/slate.h"

namespace marquee::bandits {
namespace {

const std::vector<new_release_exposure> counters{
    {.candidate = 4, .impressions_per_hour = 50.0},  // above the floor
    {.candidate = 7, .impressions_per_hour = 3.0},
    {.candidate = 2, .impressions_per_hour = 0.0},   // most starved
    {.candidate = 9, .impressions_per_hour = 3.0},   // tie with 7: lower index first
    {.candidate = 2, .impressions_per_hour = 0.0},   // duplicate
};

TEST(exposure_floor, inserts_the_most_starved_new_releases_at_spaced_slots) {
    exposure_floor_options o{.min_impressions_per_hour = 10.0, .max_inserts = 3, .first_slot = 2, .stride = 3};
    auto f = exposure_floor(counters, 10, o);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0].candidate, 2u);
    EXPECT_EQ(f[0].slot, 2);
    EXPECT_EQ(f[1].candidate, 7u);
    EXPECT_EQ(f[1].slot, 5);
    EXPECT_EQ(f[2].candidate, 9u);
    EXPECT_EQ(f[2].slot, 8);
}

TEST(exposure_floor, respects_limits_and_can_be_off) {
    exposure_floor_options o{.min_impressions_per_hour = 10.0, .max_inserts = 1, .first_slot = 2, .stride = 3};
    ASSERT_EQ(exposure_floor(counters, 10, o).size(), 1u);
    o.max_inserts = 5;
    EXPECT_EQ(exposure_floor(counters, 6, o).size(), 2u);  // slots 2 and 5 only
    auto short_slate = exposure_floor(counters, 2, o);      // first slot clamped to the last
    ASSERT_EQ(short_slate.size(), 1u);
    EXPECT_EQ(short_slate[0].slot, 1);
    o.min_impressions_per_hour = 0.0;
    EXPECT_TRUE(exposure_floor(counters, 10, o).empty());
    o.min_impressions_per_hour = 2.0;  // only candidate 2 is under 2/h
    EXPECT_EQ(exposure_floor(counters, 10, o).size(), 1u);
    EXPECT_TRUE(exposure_floor(counters, 0, o).empty());
}

class rising_scorer final : public scorer {
public:
    explicit rising_scorer(std::size_t n) : n_(n) {}
    std::size_t size() const override { return n_; }
    void score(std::span<double> m, std::span<double> b) const override {
        for (std::size_t i = 0; i < n_; ++i) m[i] = 0.01 * double(i), b[i] = 0.0;
    }

private:
    std::size_t n_;
};

TEST(exposure_floor, the_slate_honours_the_insertions) {
    rising_scorer s(12);
    exposure_floor_options fo{.min_impressions_per_hour = 10.0, .max_inserts = 2, .first_slot = 1, .stride = 4};
    const auto forced = exposure_floor(counters, 6, fo);  // 2 at slot 1, 7 at slot 5
    for (std::uint64_t seed = 0; seed < 30; ++seed) {
        auto slate = fill_slate(s, {.k = 6, .epsilon = 0.3}, {.meta = {}, .forced = forced, .seed = seed});
        ASSERT_EQ(slate.size(), 6u);
        EXPECT_EQ(slate[1].candidate, 2u);
        EXPECT_TRUE(slate[1].forced);
        EXPECT_DOUBLE_EQ(slate[1].propensity, 1.0);
        EXPECT_EQ(slate[5].candidate, 7u);
        EXPECT_TRUE(slate[5].forced);
        // Forced items appear once, and other slots never take them.
        for (std::size_t i = 0; i < slate.size(); ++i) {
            if (i == 1 || i == 5) continue;
            EXPECT_FALSE(slate[i].forced);
            EXPECT_NE(slate[i].candidate, 2u);
            EXPECT_NE(slate[i].candidate, 7u);
        }
    }
    // Slot 0 under epsilon = 0 is the best candidate that is not reserved.
    auto slate = fill_slate(s, {.k = 6, .epsilon = 0.0}, {.meta = {}, .forced = forced, .seed = 1});
    EXPECT_EQ(slate[0].candidate, 11u);
    EXPECT_EQ(slate[2].candidate, 10u);
}

}  // namespace
}  // namespace marquee::bandits
