#include "engine/retrieval.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/rng.h"

namespace marquee::engine {
namespace {

TEST(retrieval, top_n_equals_the_prefix_of_a_full_sort_ties_included) {
    core::splitmix64 rng(11);
    std::vector<float> scores(2000);
    // Few distinct values: plenty of ties, which must go to the lower row.
    for (auto& s : scores) s = float(rng.below(50));
    std::vector<std::uint8_t> excluded(scores.size(), 0);
    for (int i = 0; i < 300; ++i) excluded[rng.below(scores.size())] = 1;

    std::vector<std::uint32_t> reference;
    for (std::uint32_t r = 0; r < scores.size(); ++r)
        if (!excluded[r]) reference.push_back(r);
    std::stable_sort(reference.begin(), reference.end(), [&](auto a, auto b) { return scores[a] > scores[b]; });
    for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(10), std::size_t(100), scores.size() + 5}) {
        auto got = top_n(scores, n, excluded);
        ASSERT_EQ(got.size(), std::min(n, reference.size())) << "n=" << n;
        for (std::size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].row, reference[i]) << "n=" << n << " i=" << i;
            EXPECT_EQ(got[i].score, scores[reference[i]]);
        }
    }
}

// Large catalogs take a sampled bar; this checks it against a full sort
// when the best rows are excluded (the user's own history scores highest,
// so the sample's bar can be too high and the exact path must take over),
// with heavy ties, and with NaN scores (never returned).
TEST(retrieval, top_n_over_a_large_catalog_equals_a_full_sort_whatever_is_excluded) {
    core::splitmix64 rng(12);
    const std::size_t size = 20000;
    for (int trial = 0; trial < 40; ++trial) {
        std::vector<float> scores(size);
        const int distinct = trial % 2 ? 30 : 1 << 20;
        for (auto& s : scores) s = float(rng.below(std::uint64_t(distinct)));
        // Every 16th row far ahead: a sample that lands on them sets a bar
        // too few rows reach, which the exact path must take over from.
        if (trial % 4 == 3)
            for (std::size_t r = 0; r < size; r += 16) scores[r] = float(distinct + r);
        std::vector<std::uint8_t> excluded(size, 0);
        // Exclude the best `hide` rows, up to everything but a few.
        std::vector<std::uint32_t> by_score(size);
        std::iota(by_score.begin(), by_score.end(), 0u);
        std::stable_sort(by_score.begin(), by_score.end(), [&](auto a, auto b) { return scores[a] > scores[b]; });
        const std::size_t hide = trial % 4 == 3 ? 0 : std::size_t(trial) * 500;
        for (std::size_t i = 0; i < hide && i < size; ++i) excluded[by_score[i]] = 1;
        for (int i = 0; i < 5; ++i) scores[rng.below(size)] = std::numeric_limits<float>::quiet_NaN();

        std::vector<std::uint32_t> reference;
        for (auto r : by_score)
            if (!excluded[r] && !std::isnan(scores[r])) reference.push_back(r);
        std::stable_sort(reference.begin(), reference.end(), [&](auto a, auto b) { return scores[a] > scores[b]; });
        for (std::size_t n : {std::size_t(1), std::size_t(100), std::size_t(500)}) {
            auto got = top_n(scores, n, excluded);
            ASSERT_EQ(got.size(), std::min(n, reference.size())) << "trial " << trial << " n=" << n;
            for (std::size_t i = 0; i < got.size(); ++i)
                ASSERT_EQ(got[i].row, reference[i]) << "trial " << trial << " n=" << n << " i=" << i;
        }
    }
}

// Negative scores, infinities and both zeros (which tie: -0 == +0) must
// order as the float comparison does, and come back with their own values.
TEST(retrieval, top_n_orders_negative_scores_infinities_and_signed_zeros_like_a_full_sort) {
    core::splitmix64 rng(13);
    const float below[] = {-std::numeric_limits<float>::infinity(), -3.5f, -1.0f, -1e-30f, -0.0f, 0.0f};
    const float above[] = {1e-30f, 0.25f, 2.0f, std::numeric_limits<float>::infinity()};
    for (std::size_t size : {std::size_t(300), std::size_t(20000)}) {  // the buffered and the sampled path
        // A few dozen rows above zero, so the 100th best is one of the zeros.
        std::vector<float> scores(size);
        for (auto& s : scores)
            s = rng.below(size / 40) == 0 ? above[rng.below(std::size(above))] : below[rng.below(std::size(below))];
        std::vector<std::uint32_t> reference(size);
        std::iota(reference.begin(), reference.end(), 0u);
        std::stable_sort(reference.begin(), reference.end(), [&](auto a, auto b) { return scores[a] > scores[b]; });
        const std::vector<std::uint8_t> none(size, 0);
        for (std::size_t n : {std::size_t(1), std::size_t(100), size / 2}) {
            const auto got = top_n(scores, n, none);
            ASSERT_EQ(got.size(), n);
            for (std::size_t i = 0; i < n; ++i) {
                ASSERT_EQ(got[i].row, reference[i]) << "size " << size << " n " << n << " i " << i;
                // The same value (the selection may give -0 back as +0), and bits for any other score.
                ASSERT_EQ(got[i].score, scores[got[i].row]);
                if (got[i].score != 0.0f) {
                    ASSERT_EQ(std::bit_cast<std::uint32_t>(got[i].score), std::bit_cast<std::uint32_t>(scores[got[i].row]));
                }
            }
        }
    }
}

TEST(retrieval, dot_rows_matches_double_precision_dot_products_for_any_shape) {
    core::splitmix64 rng(6);
    for (int dim : {8, 12, 32, 64}) {
        for (std::uint32_t items : {1u, 7u, 8u, 9u, 1003u}) {
            online_models::row_matrix m(items, dim);
            for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = float(rng.uniform() * 2 - 1);
            std::vector<float> user(std::size_t(dim), 0.0f);
            for (auto& v : user) v = float(rng.uniform() * 2 - 1);
            std::vector<float> out(items, -99.0f);
            dot_rows(Eigen::Map<const online_models::row_matrix>(m.data(), m.rows(), m.cols()), user, out.data());
            for (std::uint32_t r = 0; r < items; ++r) {
                double exact = 0;
                for (int d = 0; d < dim; ++d) exact += double(m(r, d)) * user[std::size_t(d)];
                ASSERT_NEAR(out[r], exact, 1e-5) << "dim " << dim << " items " << items << " row " << r;
            }
        }
    }
}

TEST(retrieval, embedding_top_n_matches_brute_force_dot_products) {
    const int dim = 32;
    const std::uint32_t items = 5000;
    core::splitmix64 rng(5);
    online_models::row_matrix m(items, dim);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = float(rng.uniform() * 2 - 1);
    std::vector<float> user(dim);
    for (auto& v : user) v = float(rng.uniform() * 2 - 1);
    std::vector<std::uint8_t> excluded(items, 0);
    for (std::uint32_t r = 0; r < items; r += 7) excluded[r] = 1;

    // Reference: scalar double-precision dot products and a full sort.
    std::vector<double> exact(items);
    for (std::uint32_t r = 0; r < items; ++r) {
        double s = 0;
        for (int d = 0; d < dim; ++d) s += double(m(r, d)) * user[std::size_t(d)];
        exact[r] = s;
    }
    std::vector<std::uint32_t> order;
    for (std::uint32_t r = 0; r < items; ++r)
        if (!excluded[r]) order.push_back(r);
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return exact[a] > exact[b]; });

    const Eigen::Map<const online_models::row_matrix> view(m.data(), m.rows(), m.cols());
    auto got = top_n_by_dot(view, user, 100, excluded);
    ASSERT_EQ(got.size(), 100u);
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_FALSE(excluded[got[i].row]);
        EXPECT_NEAR(got[i].score, exact[got[i].row], 1e-4);
        // Same ranking as the reference up to float rounding of near-ties.
        EXPECT_NEAR(exact[got[i].row], exact[order[i]], 1e-4) << "rank " << i;
    }
    EXPECT_EQ(got[0].row, order[0]);
}

bool cpu_has_avx2_f16c() {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

online_models::row_matrix random_matrix(core::splitmix64& rng, std::uint32_t rows, int dim) {
    online_models::row_matrix m(rows, dim);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = float(rng.uniform() * 2 - 1);
    return m;
}

Eigen::Map<const online_models::row_matrix> view_of(const online_models::row_matrix& m) {
    return {m.data(), m.rows(), m.cols()};
}

// The binary16 scan's top n, checked against the float scan's: the same rows
// in the same order, with the same scores. `context` names the case.
std::vector<scored_row> half_scan_checked(const online_models::row_matrix& m, std::span<const float> user,
                                          std::size_t n, std::span<const std::uint8_t> excluded,
                                          const half_matrix& half, const std::string& context) {
    const auto want = top_n_by_dot(view_of(m), user, n, excluded);
    const auto got = top_n_by_dot(view_of(m), user, n, excluded, &half);
    EXPECT_EQ(got.size(), want.size()) << context;
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        EXPECT_EQ(got[i].row, want[i].row) << context << " i " << i;
        EXPECT_EQ(got[i].score, want[i].score) << context << " i " << i;
        if (got[i].row != want[i].row || got[i].score != want[i].score) break;  // the first difference says it
    }
    return got;
}

// Rescored rows must carry the scan's exact bits, or a rescored row could
// swap places with a row the scan scored.
TEST(retrieval, dot_row_gives_a_row_the_score_dot_rows_gives_it) {
    core::splitmix64 rng(21);
    for (int dim : {8, 12, 32, 64}) {
        for (std::uint32_t items : {1u, 7u, 8u, 9u, 1003u}) {
            const auto m = random_matrix(rng, items, dim);
            std::vector<float> user(static_cast<std::size_t>(dim));
            for (auto& v : user) v = float(rng.uniform() * 2 - 1);
            std::vector<float> all(items);
            dot_rows(view_of(m), user, all.data());
            for (std::uint32_t r = 0; r < items; ++r) {
                if (dim % 8 == 0 && cpu_has_avx2_f16c())
                    ASSERT_EQ(dot_row(view_of(m), r, user), all[r]) << "dim " << dim << " items " << items << " row " << r;
                else
                    ASSERT_NEAR(dot_row(view_of(m), r, user), all[r], 1e-5) << "dim " << dim << " row " << r;
            }
        }
    }
}

// The binary16 scan only preselects; the answer must be the float scan's,
// bit for bit, also where binary16 cannot tell rows apart: rows that differ
// below its 11 significant bits, exact duplicates (ties go to the lower
// row), and the best rows excluded.
TEST(retrieval, the_binary16_scan_returns_exactly_what_the_float_scan_returns) {
    if (!cpu_has_avx2_f16c()) GTEST_SKIP() << "no AVX2/F16C: the binary16 copy is never built here";
    core::splitmix64 rng(22);
    const int dim = 32;
    const std::uint32_t items = 12000;
    for (int trial = 0; trial < 12; ++trial) {
        auto m = random_matrix(rng, items, dim);
        std::vector<float> user(dim);
        for (auto& v : user) v = float(rng.uniform() * 2 - 1);
        // Near-copies of row 0 (differences around 1e-6, far below binary16's
        // resolution) and exact copies of row 1, spread over the catalog.
        const float lift = trial % 3 == 0 ? 3.0f : 1.0f;  // some trials put them at the very top
        for (std::uint32_t r = 2; r < items; r += 97) {
            for (int d = 0; d < dim; ++d) {
                m(r, d) = lift * m(0, d) * (1.0f + float(rng.uniform() - 0.5) * 2e-6f);
                if (r + 1 < items) m(r + 1, d) = m(1, d) * lift;
            }
        }
        std::vector<std::uint8_t> excluded(items, 0);
        std::vector<float> scores(items);
        dot_rows(view_of(m), user, scores.data());
        std::vector<std::uint32_t> by_score(items);
        std::iota(by_score.begin(), by_score.end(), 0u);
        std::stable_sort(by_score.begin(), by_score.end(), [&](auto a, auto b) { return scores[a] > scores[b]; });
        for (std::size_t i = 0; i < std::size_t(trial) * 40; ++i) excluded[by_score[i]] = 1;

        const auto half = to_half(view_of(m));
        ASSERT_FALSE(half.empty());
        for (std::size_t n : {std::size_t(1), std::size_t(10), std::size_t(100), std::size_t(500)})
            half_scan_checked(m, user, n, excluded, half, "trial " + std::to_string(trial) + " n " + std::to_string(n));
    }
}

// The scan must actually read the binary16 copy (the test above would also
// pass if it never did): a copy of another matrix that claims to be exact
// (max_row_norm 0, so no slack) picks other rows.
TEST(retrieval, the_scan_reads_the_binary16_copy_when_there_is_one) {
    if (!cpu_has_avx2_f16c()) GTEST_SKIP() << "no AVX2/F16C: the binary16 copy is never built here";
    core::splitmix64 rng(23);
    const auto m = random_matrix(rng, 8000, 32);
    const auto other = random_matrix(rng, 8000, 32);
    std::vector<float> user(32);
    for (auto& v : user) v = float(rng.uniform() * 2 - 1);
    const std::vector<std::uint8_t> none(8000, 0);
    auto wrong = to_half(view_of(other));
    wrong.max_row_norm = 0.0;
    const auto want = top_n_by_dot(view_of(m), user, 10, none);
    const auto got = top_n_by_dot(view_of(m), user, 10, none, &wrong);
    ASSERT_EQ(got.size(), want.size());
    bool differs = false;
    for (std::size_t i = 0; i < got.size(); ++i) differs |= got[i].row != want[i].row;
    EXPECT_TRUE(differs);
}

// The scan goes by decreasing row norm and stops where no later row can
// reach the n-th best. Small integers make float scores exact, so rows of
// very different norms tie exactly, the lower row first: a low-norm row
// scanned late must still win its tie against a high-norm row seen early.
TEST(retrieval, the_norm_ordered_scan_returns_exactly_the_float_top_n_ties_across_norms_included) {
    if (!cpu_has_avx2_f16c()) GTEST_SKIP() << "no AVX2/F16C: the binary16 copy is never built here";
    core::splitmix64 rng(25);
    const int dim = 32;
    const std::uint32_t items = 15000;
    for (int trial = 0; trial < 10; ++trial) {
        online_models::row_matrix m(items, dim);
        for (std::uint32_t r = 0; r < items; ++r) {
            // Norms from ~1 to ~60: entries up to 1, 3 or 10 in magnitude.
            const int spread = r % 3 == 0 ? 1 : r % 3 == 1 ? 3 : 10;
            for (int c = 0; c < dim; ++c) m(r, c) = float(int(rng.below(2 * spread + 1)) - spread);
        }
        std::vector<float> user(dim);
        for (auto& v : user) v = float(int(rng.below(5)) - 2);
        std::vector<std::uint8_t> excluded(items, 0);
        for (std::uint32_t r = 0; r < items; r += 7 + std::uint32_t(trial)) excluded[r] = 1;
        const auto half = to_half(view_of(m));
        ASSERT_FALSE(half.empty());
        for (std::size_t n : {std::size_t(1), std::size_t(10), std::size_t(100), std::size_t(500)}) {
            const auto got =
                half_scan_checked(m, user, n, excluded, half, "trial " + std::to_string(trial) + " n " + std::to_string(n));
            std::size_t tied = 0;
            for (std::size_t i = 1; i < got.size(); ++i) tied += got[i].score == got[i - 1].score;
            if (n >= 100) {
                EXPECT_GT(tied, 0u) << "the trial should hold exact ties";
            }
        }
    }
}

// The copy's order and norms: a permutation of the rows, by decreasing norm,
// each norm at least the row's exact one.
TEST(retrieval, the_binary16_copy_orders_rows_by_decreasing_norm) {
    if (!cpu_has_avx2_f16c()) GTEST_SKIP() << "no AVX2/F16C: the binary16 copy is never built here";
    core::splitmix64 rng(26);
    auto m = random_matrix(rng, 3000, 16);
    for (std::uint32_t r = 0; r < 3000; r += 3) m.row(r) *= 4.0f;
    const auto half = to_half(view_of(m));
    ASSERT_EQ(half.order.size(), 3000u);
    ASSERT_EQ(half.norms.size(), 3000u);
    std::vector<bool> seen(3000, false);
    for (std::size_t i = 0; i < 3000; ++i) {
        const auto row = half.order[i];
        ASSERT_LT(row, 3000u);
        ASSERT_FALSE(seen[row]);
        seen[row] = true;
        if (i > 0) {
            ASSERT_LE(half.norms[i], half.norms[i - 1]);
        }
        ASSERT_GE(double(half.norms[i]), m.row(row).cast<double>().norm());
    }
    EXPECT_EQ(half.max_row_norm, double(half.norms.front()));
}

// The scan must stop before rows whose norm bound is below the n-th best:
// binary16 rows spoiled to look best would raise the bar past the true top
// rows and change the answer, but only if they were read.
TEST(retrieval, the_scan_never_reads_rows_that_cannot_reach_the_top) {
    if (!cpu_has_avx2_f16c()) GTEST_SKIP() << "no AVX2/F16C: the binary16 copy is never built here";
    core::splitmix64 rng(27);
    const int dim = 32;
    const std::uint32_t items = 12000;
    auto m = random_matrix(rng, items, dim);
    for (std::uint32_t r = 0; r < items; r += 2) m.row(r) *= 0.01f;  // half the rows far shorter
    std::vector<float> user(dim);
    for (auto& v : user) v = float(rng.uniform() * 2 - 1);
    const std::vector<std::uint8_t> none(items, 0);
    const auto want = top_n_by_dot(view_of(m), user, 100, none);
    // One row along the user, long enough to beat every real row.
    const auto big =
        to_half(view_of(online_models::row_matrix(Eigen::Map<const Eigen::RowVectorXf>(user.data(), dim) * 100.0f)));
    auto spoil = [&](std::size_t from, std::size_t to) {
        auto half = to_half(view_of(m));
        for (std::size_t i = from; i < to; ++i)
            std::copy(big.values.begin(), big.values.end(), half.values.begin() + std::ptrdiff_t(i * dim));
        return top_n_by_dot(view_of(m), user, 100, none, &half);
    };
    auto same = [&](const std::vector<scored_row>& got) {
        if (got.size() != want.size()) return false;
        for (std::size_t i = 0; i < got.size(); ++i)
            if (got[i].row != want[i].row || got[i].score != want[i].score) return false;
        return true;
    };
    EXPECT_TRUE(same(spoil(items - items / 4, items))) << "the shortest rows were read";
    EXPECT_FALSE(same(spoil(items / 4, items / 2))) << "spoiling rows that are read must show";
}

// Where the norm bound is tight: a row parallel to the user scores exactly
// |user| |row|. All 6,144 longer rows (norm 10) come first: 90 scoring 8
// |user|, 10 scoring 1.5 |user| (the bar once they are read), the rest at
// most |user|. Ten shorter parallel rows then score just above that bar:
// they belong in the top 100, and stopping even slightly before the bound
// allows drops them. 6,144 rows end on a chunk boundary, so the parallel
// rows start a chunk of their own.
TEST(retrieval, the_scan_reads_every_row_the_norm_bound_cannot_rule_out) {
    if (!cpu_has_avx2_f16c()) GTEST_SKIP() << "no AVX2/F16C: the binary16 copy is never built here";
    core::splitmix64 rng(28);
    const int dim = 32;
    const std::uint32_t longer = 6144, parallel = 10;
    Eigen::VectorXf u(dim);
    for (auto& v : u) v = float(rng.uniform() * 2 - 1);
    const Eigen::VectorXf along = u / u.norm();
    auto across = [&] {  // a random unit vector orthogonal to the user
        Eigen::VectorXf r(dim);
        for (auto& v : r) v = float(rng.uniform() * 2 - 1);
        r -= along * along.dot(r);
        return Eigen::VectorXf(r / r.norm());
    };
    online_models::row_matrix m(longer + parallel, dim);
    const Eigen::VectorXf bar_side = across();
    for (std::uint32_t r = 0; r < longer; ++r) {
        const float a = r < 90 ? 8.0f : r < 100 ? 1.5f : float(rng.uniform());
        m.row(r) = (a * along + std::sqrt(100.0f - a * a) * (r < 100 ? bar_side : across())).transpose();
    }
    const std::vector<float> user(u.data(), u.data() + dim);
    const std::vector<std::uint8_t> none(longer + parallel, 0);
    // Parallel rows at 1.5 |user| x (1 + step), ..., x (1 + 10 step): the
    // smaller step keeps them within the binary16 slack of the bar, the
    // larger reaches 4 % above it.
    for (double step : {0.0002, 0.004}) {
        for (std::uint32_t i = 0; i < parallel; ++i)
            m.row(longer + i) = (along * float(1.5 * (1.0 + step * (i + 1)))).transpose();
        const auto half = to_half(view_of(m));
        ASSERT_FALSE(half.empty());
        const auto got = half_scan_checked(m, user, 100, none, half, "step " + std::to_string(step));
        const auto parallel_rows = std::count_if(got.begin(), got.end(), [&](const auto& g) { return g.row >= longer; });
        EXPECT_EQ(std::size_t(parallel_rows), parallel) << "step " << step;
    }
}

TEST(retrieval, no_binary16_copy_for_values_it_cannot_hold_or_odd_dims) {
    core::splitmix64 rng(24);
    auto m = random_matrix(rng, 100, 32);
    if (cpu_has_avx2_f16c()) {
        const auto half = to_half(view_of(m));
        ASSERT_FALSE(half.empty());
        EXPECT_EQ(half.rows, 100u);
        EXPECT_EQ(half.dim, 32u);
        EXPECT_GT(half.max_row_norm, 0.0);
    }
    m(5, 3) = 70000.0f;  // binary16's largest finite value is 65504
    EXPECT_TRUE(to_half(view_of(m)).empty());
    m(5, 3) = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(to_half(view_of(m)).empty());
    EXPECT_TRUE(to_half(view_of(random_matrix(rng, 100, 12))).empty());
    // An empty copy, or one of another shape, leaves the float scan to answer.
    const auto ok = random_matrix(rng, 2000, 32);
    std::vector<float> user(32, 0.5f);
    const std::vector<std::uint8_t> none(2000, 0);
    const auto want = top_n_by_dot(view_of(ok), user, 10, none);
    const auto smaller = to_half(view_of(random_matrix(rng, 1000, 32)));
    for (const half_matrix* half : {&smaller, static_cast<const half_matrix*>(nullptr)}) {
        const half_matrix empty;
        for (const half_matrix* h : {half, &empty}) {
            const auto got = top_n_by_dot(view_of(ok), user, 10, none, h);
            ASSERT_EQ(got.size(), want.size());
            for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].row, want[i].row);
        }
    }
}

TEST(retrieval, covisited_items_rank_by_normalised_recency_weighted_counts) {
    using online_models::neighbour;
    // History (oldest first): 10, 20. Neighbours of 20 (most recent, weight 1):
    // 1 (4 = 1.0 normalised), 2 (2 = 0.5); of 10 (weight 0.8): 2 (10 = 1.0), 3 (5 = 0.5).
    std::vector<std::vector<neighbour>> lists(21);
    lists[20] = {{1, 4, 0}, {2, 2, 0}};
    lists[10] = {{2, 10, 0}, {3, 5, 0}};
    std::vector<std::uint32_t> history{10, 20};
    covisit_query q;
    q.history = history;
    q.recency_decay = 0.8f;
    std::vector<std::uint8_t> excluded(21, 0);
    excluded[10] = excluded[20] = 1;
    auto lookup = [&](std::uint32_t r) { return std::span<const neighbour>(lists[r]); };
    auto got = top_n_covisited(lookup, q, 10, excluded);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].row, 2u);  // 0.5 + 0.8
    EXPECT_FLOAT_EQ(got[0].score, 1.3f);
    EXPECT_EQ(got[0].because, 10u) << "10 contributed 0.8 of its 1.3";
    EXPECT_EQ(got[1].row, 1u);
    EXPECT_EQ(got[1].because, 20u);
    EXPECT_EQ(got[2].row, 3u);
    EXPECT_FLOAT_EQ(got[2].score, 0.4f);

    excluded[2] = 1;  // already watched: never a candidate
    got = top_n_covisited(lookup, q, 10, excluded);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].row, 1u);
    q.history_n = 1;  // only the last item is expanded
    got = top_n_covisited(lookup, q, 10, excluded);
    ASSERT_EQ(got.size(), 1u);
}

}  // namespace
}  // namespace marquee::engine
