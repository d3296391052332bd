// Feature hashing: deterministic, namespaced, with interactions and tags.
#include "bandits/hashed_features.h"

#include <gtest/gtest.h>

#include <xxhash.h>

#include <algorithm>
#include <set>
#include <string_view>

namespace marquee::bandits {
namespace {

using features = std::vector<named_feature>;

std::set<std::uint32_t> indices(const std::vector<hashed_feature>& v) {
    std::set<std::uint32_t> out;
    for (const auto& f : v) out.insert(f.index);
    return out;
}

// The documented formula, straight from libxxhash (not core::hash64).
std::uint64_t xxh3(std::string_view s, std::uint64_t seed = 0) { return XXH3_64bits_withSeed(s.data(), s.size(), seed); }

TEST(hashed_features, indices_are_the_documented_formula_and_fixed_across_builds) {
    // Stored rank models are weights by index: these must never move. The
    // literals were computed once (libxxhash 0.8.1); XXH3's output is frozen
    // by its specification, so a different value means a changed formula.
    constexpr int bits = 24;
    constexpr std::uint64_t mask = (1u << bits) - 1;
    const hashing_options o{.bits = bits, .interactions = false};
    const auto bias = std::uint32_t(xxh3("bias", xxh3("constant")) & mask);
    const auto only = [&](const features& ctx, const features& cand) {
        std::set<std::uint32_t> out = indices(hash_features(ctx, cand, o));
        out.erase(bias);
        EXPECT_EQ(out.size(), 1u);
        return out.empty() ? ~0u : *out.begin();
    };
    EXPECT_EQ(only({{"temp", 21.5}}, {}), xxh3("temp", xxh3("c")) & mask);
    EXPECT_EQ(only({{"temp", 21.5}}, {}), 9566345u);
    EXPECT_EQ(only({}, {{"genre", std::string("horror")}}), xxh3("horror", xxh3("genre", xxh3("a"))) & mask);
    EXPECT_EQ(only({}, {{"genre", std::string("horror")}}), 15728003u);
    EXPECT_EQ(bias, 6219405u);
    const auto empty = hash_features({}, {}, o);
    ASSERT_EQ(empty.size(), 1u) << "the bias alone";
    EXPECT_EQ(empty.front().index, bias);
}

TEST(hashed_features, are_deterministic_sorted_unique_and_inside_the_space) {
    const features ctx{{"daypart", std::string("night")}, {"temp", 21.5}};
    const features cand{{"genre", std::vector<std::string>{"horror", "thriller"}}, {"len", 1.5}};
    const hashing_options o{.bits = 10};
    auto a = hash_features(ctx, cand, o), b = hash_features(ctx, cand, o);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].index, b[i].index);
        EXPECT_EQ(a[i].value, b[i].value);
        EXPECT_LT(a[i].index, 1u << 10);
        if (i) {
            EXPECT_LT(a[i - 1].index, a[i].index) << "sorted, each index once";
        }
    }
    // 1 bias + 2 context + 3 candidate terms + 2 x 3 interactions, before collisions.
    double total = 0;
    for (const auto& f : a) total += f.value;
    EXPECT_NEAR(total, 1 + (1 + 21.5) + (1 + 1 + 1.5) + (1 + 21.5) * (1 + 1 + 1.5), 1e-9);
    EXPECT_GE(a.size(), 10u);  // at most a couple of collisions in 1024 slots
}

TEST(hashed_features, the_same_name_in_context_and_candidate_hashes_differently) {
    const features f{{"genre", std::string("comedy")}};
    const hashing_options o{.bits = 16, .interactions = false};
    auto as_context = hash_features(f, {}, o), as_candidate = hash_features({}, f, o);
    ASSERT_EQ(as_context.size(), 2u);  // bias + the feature
    ASSERT_EQ(as_candidate.size(), 2u);
    EXPECT_NE(indices(as_context), indices(as_candidate));
}

TEST(hashed_features, categorical_values_and_numeric_names_hash_apart) {
    const hashing_options o{.bits = 16, .interactions = false};
    auto night = hash_features(features{{"daypart", std::string("night")}}, {}, o);
    auto day = hash_features(features{{"daypart", std::string("day")}}, {}, o);
    EXPECT_NE(indices(night), indices(day));
    auto x1 = hash_features(features{{"x", 1.0}}, {}, o), x2 = hash_features(features{{"x", 2.0}}, {}, o);
    EXPECT_EQ(indices(x1), indices(x2)) << "a number is a value on one index";
}

TEST(hashed_features, interactions_are_present_only_when_asked_for) {
    const features ctx{{"daypart", std::string("night")}};
    const features cand{{"genre", std::string("horror")}};
    auto without = hash_features(ctx, cand, {.bits = 18, .interactions = false});
    auto with = hash_features(ctx, cand, {.bits = 18, .interactions = true});
    EXPECT_EQ(without.size(), 3u);
    ASSERT_EQ(with.size(), 4u);
    // The cross term of (night, horror) differs from (night, comedy)'s.
    auto other = hash_features(ctx, features{{"genre", std::string("comedy")}}, {.bits = 18});
    auto extra = [&](const std::vector<hashed_feature>& v, const std::vector<hashed_feature>& base) {
        std::set<std::uint32_t> s = indices(v);
        for (auto i : indices(base)) s.erase(i);
        return s;
    };
    EXPECT_EQ(extra(with, without).size(), 1u);
    EXPECT_NE(extra(with, without), extra(other, hash_features(ctx, features{{"genre", std::string("comedy")}},
                                                              {.bits = 18, .interactions = false})));
}

TEST(hashed_features, list_features_give_one_feature_per_tag) {
    const hashing_options o{.bits = 18, .interactions = false};
    auto one = hash_features({}, features{{"tags", std::vector<std::string>{"a"}}}, o);
    auto three = hash_features({}, features{{"tags", std::vector<std::string>{"a", "b", "c"}}}, o);
    EXPECT_EQ(one.size(), 2u);
    EXPECT_EQ(three.size(), 4u);
    for (auto i : indices(one)) EXPECT_TRUE(indices(three).count(i)) << "tag a hashes the same in both";
    // A tag equals the categorical string of the same name and value.
    EXPECT_EQ(indices(one), indices(hash_features({}, features{{"tags", std::string("a")}}, o)));
}

TEST(hashed_features, zero_values_are_dropped_and_collisions_add_up) {
    auto v = hash_features(features{{"z", 0.0}}, {}, {.bits = 1, .interactions = false});
    double total = 0;
    for (const auto& f : v) total += f.value;
    EXPECT_EQ(total, 1.0);  // only the bias
    auto w = hash_features(features{{"a", 2.0}, {"b", 3.0}, {"c", 4.0}}, {}, {.bits = 1, .interactions = false});
    EXPECT_LE(w.size(), 2u);
    total = 0;
    for (const auto& f : w) total += f.value;
    EXPECT_EQ(total, 10.0);
}

}  // namespace
}  // namespace marquee::bandits
