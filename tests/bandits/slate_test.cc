#include "bandits/slate.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace marquee::bandits {
namespace {

std::vector<feature_vector> candidates(int n) {
    std::vector<feature_vector> xs;
    for (int i = 0; i < n; ++i) {
        feature_vector x = feature_vector::Zero();
        x[0] = 1.0;
        x[1] = 0.1 * i;  // affinity rises with the index
        xs.push_back(x);
    }
    return xs;
}

TEST(slate, without_epsilon_it_is_the_ucb_ranking_with_propensity_one) {
    linucb_policy p{linucb_options{}};
    auto xs = candidates(6);
    auto slate = choose_slate(p, xs, {.k = 3, .epsilon = 0.0}, 1);
    ASSERT_EQ(slate.size(), 3u);
    EXPECT_EQ(slate[0].candidate, 5u);
    EXPECT_EQ(slate[1].candidate, 4u);
    EXPECT_EQ(slate[2].candidate, 3u);
    for (const auto& s : slate) {
        EXPECT_DOUBLE_EQ(s.propensity, 1.0);
        EXPECT_FALSE(s.explored);
    }
}

TEST(slate, never_repeats_and_caps_at_the_candidate_count) {
    linucb_policy p{linucb_options{}};
    auto xs = candidates(4);
    auto slate = choose_slate(p, xs, {.k = 10, .epsilon = 0.5}, 9);
    ASSERT_EQ(slate.size(), 4u);
    std::set<std::uint32_t> seen;
    for (const auto& s : slate) seen.insert(s.candidate);
    EXPECT_EQ(seen.size(), 4u);
}

TEST(slate, same_seed_same_slate) {
    linucb_policy p{linucb_options{}};
    auto xs = candidates(20);
    auto a = choose_slate(p, xs, {.k = 5, .epsilon = 0.4}, 1234);
    auto b = choose_slate(p, xs, {.k = 5, .epsilon = 0.4}, 1234);
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].candidate, b[i].candidate);
}

TEST(slate, first_slot_propensities_match_frequencies_and_sum_to_one) {
    linucb_policy p{linucb_options{}};
    auto xs = candidates(5);
    const double epsilon = 0.3;
    const int trials = 40000;
    std::map<std::uint32_t, int> count;
    std::map<std::uint32_t, double> propensity;
    for (int t = 0; t < trials; ++t) {
        auto s = choose_slate(p, xs, {.k = 1, .epsilon = epsilon}, std::uint64_t(t) * 7919 + 11);
        ++count[s[0].candidate];
        auto [it, inserted] = propensity.emplace(s[0].candidate, s[0].propensity);
        EXPECT_DOUBLE_EQ(it->second, s[0].propensity);  // depends on the item only
    }
    ASSERT_EQ(propensity.size(), 5u);
    double sum = 0.0;
    for (auto [c, pr] : propensity) {
        sum += pr;
        const double freq = double(count[c]) / trials;
        const double sigma = std::sqrt(pr * (1 - pr) / trials);
        EXPECT_NEAR(freq, pr, 4 * sigma) << "candidate " << c;
    }
    EXPECT_NEAR(sum, 1.0, 1e-12);
    EXPECT_NEAR(propensity[4], 1.0 - epsilon + epsilon / 5, 1e-12);
}

TEST(slate, an_exploited_pick_is_not_flagged_explored_but_a_bonus_pick_is) {
    linucb_options o;
    o.alpha = 5.0;
    o.prior = feature_vector::Zero();
    linucb_policy p(o);
    feature_vector known = feature_vector::Zero(), novel = feature_vector::Zero();
    known[0] = 1.0;
    novel[3] = 1.0;  // never seen: large bonus, zero expected reward
    for (int i = 0; i < 50; ++i) p.update(known, 0.6);
    std::vector<feature_vector> xs{known, novel};
    auto slate = choose_slate(p, xs, {.k = 2, .epsilon = 0.0}, 3);
    EXPECT_EQ(slate[0].candidate, 1u);
    EXPECT_TRUE(slate[0].explored);
    EXPECT_FALSE(slate[1].explored);
}

}  // namespace
}  // namespace marquee::bandits
