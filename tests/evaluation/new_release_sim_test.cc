#include "evaluation/new_release_sim.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/rng.h"

namespace marquee::evaluation {
namespace {

// 60 users rating 300 items; an item's id is its release order, so items
// keep appearing all through the stream. Users like (4+ stars) a third of
// what they rate.
std::vector<events::event> stream(int n, std::uint64_t seed) {
    core::splitmix64 rng(seed);
    std::vector<events::event> out;
    for (int i = 0; i < n; ++i) {
        const int released = 1 + i * 300 / n;  // items available so far
        events::event e;
        e.type = events::event_type::rating;
        e.user_id = "u" + std::to_string(rng.below(60));
        e.item_id = "m" + std::to_string(rng.below(std::uint64_t(released)));
        e.ts_ms = std::int64_t(i);
        e.value = rng.uniform() < 0.33 ? 5.0 : 2.0;
        out.push_back(e);
    }
    return out;
}

new_release_sim_options options() {
    new_release_sim_options o;
    o.model.mf.dim = 8;
    o.model.new_release_days = 600.0 / 86400;  // new for 10 simulated minutes
    o.recommend.slate.new_release.max_age_days = o.model.new_release_days;
    o.recommend.slate.epsilon = 0.0;
    o.k = 5;
    o.impressions = 3;
    return o;
}

TEST(new_release_sim, the_exposure_floor_gets_releases_their_first_impressions_sooner) {
    const auto events = stream(6000, 3);
    auto off = options();
    auto on = options();
    on.recommend.slate.new_release.exploration_weight = 3.0;
    on.recommend.exposure_floor.min_impressions_per_hour = 20.0;
    const auto a = run_new_release_sim(events, off);
    const auto b = run_new_release_sim(events, on);
    EXPECT_EQ(a.requests, 6000u);
    EXPECT_LE(a.shown, 6000u * 5);
    EXPECT_GT(a.shown, 6000u * 5 * 9 / 10) << "only the first requests lack 5 unseen items";
    EXPECT_GT(a.releases, 100u);
    EXPECT_EQ(a.releases, b.releases) << "same stream, same releases";
    EXPECT_EQ(a.forced, 0u);
    EXPECT_GT(b.forced, 0u);
    EXPECT_GT(b.releases_reaching_n, a.releases_reaching_n);
    EXPECT_LT(b.median_seconds_to_n, a.median_seconds_to_n);
    EXPECT_GT(a.reward_rate, 0.0);
    EXPECT_LE(a.reward_rate, 1.0);
}

TEST(new_release_sim, is_deterministic) {
    const auto events = stream(2000, 5);
    const auto a = run_new_release_sim(events, options());
    const auto b = run_new_release_sim(events, options());
    EXPECT_EQ(a.release_impressions, b.release_impressions);
    EXPECT_EQ(a.reward_rate, b.reward_rate);
    EXPECT_EQ(a.median_seconds_to_n, b.median_seconds_to_n);
}

}  // namespace
}  // namespace marquee::evaluation
