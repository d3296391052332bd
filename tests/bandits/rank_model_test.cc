// The rank model: encoding, scoring after updates, policies, persistence.
#include "bandits/rank_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "bandits/linear_ts.h"
#include "core/rng.h"

namespace marquee::bandits {
namespace {

using features = std::vector<named_feature>;

sparse_x random_x(core::splitmix64& rng, int dim, int nnz) {
    rank_model::vector d = rank_model::vector::Zero(dim);
    for (int j = 0; j < nnz; ++j) d[rng.below(dim)] = rng.uniform() + 0.1;
    sparse_x x;
    for (int j = 0; j < dim; ++j)
        if (d[j] != 0.0) x.push_back({std::uint32_t(j), d[j]});
    return x;
}

TEST(rank_model, dimension_is_the_hashed_space_plus_the_known_signals) {
    rank_model m({.bits = 6});
    EXPECT_EQ(m.dim(), 64 + known_dim);
    sparse_x x;
    auto h = hash_features(features{{"a", 2.0}}, {}, m.options().hashing());
    m.encode(h, {}, x);
    EXPECT_EQ(m.dense(x).tail(known_dim).squaredNorm(), 0.0) << "unknown ids add nothing";
    m.encode(h, {.known = true, .affinity = 8.0, .popularity = 0.5, .recency = 0.25}, x);
    auto d = m.dense(x);
    EXPECT_EQ(d.size(), m.dim());
    EXPECT_EQ(d[64], 1.0);
    EXPECT_EQ(d[65], 1.0) << "affinity clamped to 4, then / 4";
    EXPECT_EQ(d[66], 0.5);
    EXPECT_EQ(d[67], 0.25);
}

TEST(rank_model, sparse_scores_equal_ridge_scorers_dense_ones) {
    rank_model m({.bits = 6});
    core::splitmix64 rng(5);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(m.update(random_x(rng, m.dim(), 6), rng.uniform()));
    std::vector<sparse_x> xs;
    std::vector<rank_model::vector> dense;
    for (int i = 0; i < 10; ++i) {
        xs.push_back(random_x(rng, m.dim(), 8));
        dense.push_back(m.dense(xs.back()));
    }
    ridge_scorer<Eigen::Dynamic> reference(m.ridge(), dense, m.options().alpha, m.options().v);
    std::vector<double> mean(10), bonus(10);
    reference.score(mean, bonus);
    for (int i = 0; i < 10; ++i) {
        EXPECT_NEAR(m.mean(xs[i]), mean[i], 1e-9);
        EXPECT_NEAR(m.options().alpha * m.width(xs[i]), bonus[i], 1e-9);
    }
    // Whole slates agree too, for every policy (same seed, same draws).
    for (auto policy : {policy_kind::ucb, policy_kind::thompson, policy_kind::epsilon_greedy}) {
        slate_options o;
        o.k = 4;
        o.policy = policy;
        auto sparse = m.choose(xs, o, 9);
        auto expected = fill_slate(reference, o, slate_inputs{.meta = {}, .forced = {}, .seed = 9});
        ASSERT_EQ(sparse.size(), expected.size());
        for (std::size_t s = 0; s < sparse.size(); ++s) {
            EXPECT_EQ(sparse[s].candidate, expected[s].candidate) << to_string(policy);
            EXPECT_NEAR(sparse[s].propensity, expected[s].propensity, 1e-9) << to_string(policy);
        }
    }
}

TEST(rank_model, an_update_with_non_finite_inputs_leaves_the_model_unchanged_and_finite) {
    rank_model m({.bits = 6});
    core::splitmix64 rng(3);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(m.update(random_x(rng, m.dim(), 6), rng.uniform()));
    const std::string before = m.serialize();
    const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
    const sparse_x good{{1, 0.5}, {7, 1.0}};
    // 1e200 is finite, but x x' overflows.
    for (const auto& bad : {sparse_x{{1, inf}}, sparse_x{{1, 0.5}, {7, nan}}, sparse_x{{3, -inf}, {9, 1.0}},
                            sparse_x{{2, 1e200}}})
        EXPECT_FALSE(m.update(bad, 1.0));
    EXPECT_FALSE(m.update(good, nan));
    EXPECT_FALSE(m.update(good, inf));
    EXPECT_EQ(m.updates(), 20u);
    EXPECT_EQ(m.serialize(), before) << "a refused update changes nothing";
    EXPECT_TRUE(m.ridge().theta().allFinite());
    EXPECT_TRUE(m.ridge().a_inverse().allFinite());
    EXPECT_TRUE(std::isfinite(m.mean(good)));
    EXPECT_TRUE(std::isfinite(m.width(good)));
}

TEST(rank_model, matches_the_exact_ridge_solution_with_feature_values_at_the_accepted_bound) {
    // Values at max_feature_value multiply into 1e6 interactions and enter A
    // squared. The model's A^-1 (Sherman-Morrison) must still give the ridge
    // solution, computed here afresh from A and b in long double.
    rank_model m({.bits = 6});
    using ld_matrix = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
    using ld_vector = Eigen::Matrix<long double, Eigen::Dynamic, 1>;
    ld_matrix a = ld_matrix::Identity(m.dim(), m.dim()) * (long double)m.options().lambda;
    ld_vector b = ld_vector::Zero(m.dim());
    auto pair = [&](double budget, double price) {
        sparse_x x;
        m.encode(hash_features(features{{"budget", budget}}, features{{"price", price}}, m.options().hashing()), {}, x);
        return x;
    };
    const double big = max_feature_value;
    const double budgets[] = {big, 1.0}, prices[] = {big, 0.99 * big, 0.5 * big, 1.0};
    core::splitmix64 rng(17);
    for (int i = 0; i < 200; ++i) {
        const auto x = pair(budgets[rng.below(2)], prices[rng.below(4)]);
        const double r = rng.uniform() < 0.5 ? 0.0 : 1.0;
        ASSERT_TRUE(m.update(x, r));
        const ld_vector d = m.dense(x).cast<long double>();
        a += d * d.transpose();
        b += (long double)r * d;
    }
    const ld_vector theta = a.ldlt().solve(b);
    for (double budget : budgets)
        for (double price : prices) {
            const auto x = pair(budget, price);
            const double exact = double(theta.dot(m.dense(x).cast<long double>()));
            EXPECT_NEAR(m.mean(x), exact, 1e-3) << "budget " << budget << ", price " << price;
            EXPECT_TRUE(std::isfinite(m.width(x)));
        }
}

TEST(rank_model, learns_which_candidate_pays_in_which_context) {
    rank_model m({.bits = 8});
    sparse_x night_horror, night_comedy, day_horror, day_comedy;
    auto enc = [&](const char* daypart, const char* genre, sparse_x& x) {
        m.encode(hash_features(features{{"daypart", std::string(daypart)}}, features{{"genre", std::string(genre)}},
                               m.options().hashing()),
                 {}, x);
    };
    enc("night", "horror", night_horror);
    enc("night", "comedy", night_comedy);
    enc("day", "horror", day_horror);
    enc("day", "comedy", day_comedy);
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(m.update(night_horror, 1.0));
        ASSERT_TRUE(m.update(night_comedy, 0.0));
        ASSERT_TRUE(m.update(day_horror, 0.0));
        ASSERT_TRUE(m.update(day_comedy, 1.0));
    }
    EXPECT_EQ(m.updates(), 200u);
    EXPECT_GT(m.mean(night_horror), m.mean(night_comedy) + 0.5);
    EXPECT_GT(m.mean(day_comedy), m.mean(day_horror) + 0.5);

    const std::vector<sparse_x> night{night_comedy, night_horror};
    for (auto policy : {policy_kind::ucb, policy_kind::thompson, policy_kind::greedy}) {
        slate_options o;
        o.k = 2;
        o.epsilon = 0.0;
        o.policy = policy;
        auto slots = m.choose(night, o, 3);
        ASSERT_EQ(slots.size(), 2u);
        EXPECT_EQ(slots[0].candidate, 1u) << to_string(policy);
        EXPECT_GT(slots[0].propensity, 0.5) << to_string(policy);
    }
    slate_options u;
    u.k = 1;
    u.policy = policy_kind::uniform;
    auto slots = m.choose(night, u, 3);
    ASSERT_EQ(slots.size(), 1u);
    EXPECT_DOUBLE_EQ(slots[0].propensity, 0.5);
}

TEST(rank_model, round_trips_through_bytes_and_keeps_learning_identically) {
    rank_model m({.bits = 5});
    core::splitmix64 rng(11);
    std::vector<sparse_x> xs;
    for (int i = 0; i < 40; ++i) {
        xs.push_back(random_x(rng, m.dim(), 4));
        ASSERT_TRUE(m.update(xs.back(), rng.uniform()));
    }
    auto copy = rank_model::deserialize(m.serialize(), m.options());
    ASSERT_TRUE(copy) << copy.error().message;
    EXPECT_EQ(copy.value().updates(), 40u);
    for (const auto& x : xs) {
        EXPECT_NEAR(copy.value().mean(x), m.mean(x), 1e-9);
        EXPECT_NEAR(copy.value().width(x), m.width(x), 1e-9);
    }
    ASSERT_TRUE(m.update(xs[0], 1.0));
    ASSERT_TRUE(copy.value().update(xs[0], 1.0));
    EXPECT_NEAR(copy.value().mean(xs[1]), m.mean(xs[1]), 1e-9);
    EXPECT_EQ(copy.value().serialize(), m.serialize());

    auto other_bits = rank_model::deserialize(m.serialize(), {.bits = 6});
    ASSERT_FALSE(other_bits);
    EXPECT_EQ(other_bits.error().reason, "config");
    EXPECT_FALSE(rank_model::deserialize("garbage", m.options()));
}

TEST(rank_model, revert_undoes_the_latest_update) {
    rank_model m({.bits = 4});
    const sparse_x x{{1, 1.0}, {3, 0.5}}, y{{2, 1.0}};
    ASSERT_TRUE(m.update(y, 0.3));
    const double before = m.mean(x), width = m.width(x);
    const std::string bytes = m.serialize();
    ASSERT_TRUE(m.update(x, 1.0));
    EXPECT_NE(m.mean(x), before);
    m.revert(x, 1.0);
    EXPECT_NEAR(m.mean(x), before, 1e-12);
    EXPECT_NEAR(m.width(x), width, 1e-12);
    EXPECT_EQ(m.updates(), 1u);
    EXPECT_EQ(m.serialize(), bytes);
}

}  // namespace
}  // namespace marquee::bandits
