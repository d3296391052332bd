// bandits_bench: what one candidate, one slate (k = 10 of 500) and one
// reward cost for LinUCB and linear Thompson sampling at d = 11 (fixed-size,
// the production feature map), 32 and 64 (Eigen::Dynamic). Compare ratios
// within one run; absolute numbers move with the machine's load.
#include <benchmark/benchmark.h>

#include <vector>

#include "bandits/linear_ts.h"
#include "bandits/linucb_policy.h"
#include "bandits/ridge_model.h"
#include "bandits/slate.h"
#include "core/rng.h"

namespace marquee::bandits {
namespace {

constexpr int candidates = 500;
constexpr int slate_k = 10;

template <int Dim>
std::vector<typename ridge_model<Dim>::vector> random_vectors(int count, int d, std::uint64_t seed) {
    normal_source normal(seed);
    std::vector<typename ridge_model<Dim>::vector> out;
    for (int i = 0; i < count; ++i) {
        typename ridge_model<Dim>::vector x(d);
        for (int j = 0; j < d; ++j) x[j] = normal() / std::sqrt(double(d));
        out.push_back(x);
    }
    return out;
}

// A model that has seen 2000 rewards, so A^-1 is dense.
template <int Dim>
linear_ts<Dim> trained(int d) {
    linear_ts<Dim> ts({.lambda = 1.0, .v = 0.5}, d);
    const auto xs = random_vectors<Dim>(2000, d, 1);
    normal_source normal(2);
    for (const auto& x : xs) ts.update(x, x[0] + 0.1 * normal());
    return ts;
}

template <int Dim>
int dim_of(const benchmark::State& state) {
    return Dim == Eigen::Dynamic ? int(state.range(0)) : Dim;
}

// Scoring all 500 candidates; items = candidates, so time per item is per candidate.
template <int Dim>
void score_linucb(benchmark::State& state) {
    const int d = dim_of<Dim>(state);
    const auto ts = trained<Dim>(d);
    const auto xs = random_vectors<Dim>(candidates, d, 3);
    ridge_scorer<Dim> view(ts.model(), xs, 0.5, 0.5);
    std::vector<double> mean(candidates), bonus(candidates);
    for (auto _ : state) {
        view.score(mean, bonus);
        benchmark::DoNotOptimize(bonus.data());
    }
    state.SetItemsProcessed(state.iterations() * candidates);
}

// One posterior draw (triangular solve) plus 500 dot products.
template <int Dim>
void score_ts(benchmark::State& state) {
    const int d = dim_of<Dim>(state);
    const auto ts = trained<Dim>(d);
    const auto xs = random_vectors<Dim>(candidates, d, 3);
    ridge_scorer<Dim> view(ts, xs);
    std::vector<double> out(candidates);
    normal_source normal(4);
    for (auto _ : state) {
        view.sample(out, normal);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * candidates);
}

// A whole slate, k = 10 of 500, epsilon 0.05, with a reused workspace.
// Thompson: 10 choosing draws + M propensity draws (range(1)).
template <int Dim>
void slate(benchmark::State& state, policy_kind kind) {
    const int d = dim_of<Dim>(state);
    const auto ts = trained<Dim>(d);
    const auto xs = random_vectors<Dim>(candidates, d, 3);
    ridge_scorer<Dim> view(ts, xs);
    slate_options o{.k = slate_k, .epsilon = 0.05, .policy = kind};
    o.thompson_propensity_draws = int(state.range(1));
    slate_workspace ws;
    std::vector<slot> out;
    std::uint64_t seed = 0;
    for (auto _ : state) {
        fill_slate(view, o, {.meta = {}, .forced = {}, .seed = ++seed}, ws, out);
        benchmark::DoNotOptimize(out.data());
    }
}
template <int Dim>
void slate_linucb(benchmark::State& state) {
    slate<Dim>(state, policy_kind::ucb);
}
template <int Dim>
void slate_ts(benchmark::State& state) {
    slate<Dim>(state, policy_kind::thompson);
}

// One reward: Sherman-Morrison (+ theta); TS adds the Cholesky rank-one update.
template <int Dim>
void update(benchmark::State& state, bool thompson) {
    const int d = dim_of<Dim>(state);
    ridge_model<Dim> m({.lambda = 1.0, .track_cholesky = thompson}, d);
    const auto xs = random_vectors<Dim>(1024, d, 5);
    std::size_t i = 0;
    for (auto _ : state) {
        const auto& x = xs[i++ & 1023];
        m.update(x, x[0]);
        benchmark::DoNotOptimize(m.theta().data());
    }
}
template <int Dim>
void update_linucb(benchmark::State& state) {
    update<Dim>(state, false);
}
template <int Dim>
void update_ts(benchmark::State& state) {
    update<Dim>(state, true);
}

// The production linucb_policy (d = feature_dim) through choose_slate.
void production_choose_slate(benchmark::State& state) {
    linucb_policy p{linucb_options{}};
    const auto xs8 = random_vectors<feature_dim>(2000, feature_dim, 1);
    for (const auto& x : xs8) p.update(x, x[0]);
    const auto xs = random_vectors<feature_dim>(candidates, feature_dim, 3);
    std::uint64_t seed = 0;
    for (auto _ : state) benchmark::DoNotOptimize(choose_slate(p, xs, {.k = slate_k, .epsilon = 0.05}, ++seed));
}

constexpr int dyn = Eigen::Dynamic;
constexpr int fixed = feature_dim;  // the production feature map, fixed-size Eigen
const std::string fixed_name = "/d:" + std::to_string(fixed);
BENCHMARK(score_linucb<fixed>)->Name("score/linucb" + fixed_name);
BENCHMARK(score_linucb<dyn>)->Name("score/linucb")->ArgName("d")->Arg(32)->Arg(64);
BENCHMARK(score_ts<fixed>)->Name("score/ts" + fixed_name);
BENCHMARK(score_ts<dyn>)->Name("score/ts")->ArgName("d")->Arg(32)->Arg(64);
BENCHMARK(slate_linucb<fixed>)->Name("slate/linucb")->ArgNames({"d", "M"})->Args({fixed, 0});
BENCHMARK(slate_linucb<dyn>)->Name("slate/linucb")->ArgNames({"d", "M"})->Args({32, 0})->Args({64, 0});
BENCHMARK(slate_ts<fixed>)->Name("slate/ts")->ArgNames({"d", "M"})->Args({fixed, 32})->Args({fixed, 128});
BENCHMARK(slate_ts<dyn>)->Name("slate/ts")->ArgNames({"d", "M"})->Args({32, 32})->Args({32, 128})->Args({64, 32})->Args({64, 128});
BENCHMARK(update_linucb<fixed>)->Name("update/linucb" + fixed_name);
BENCHMARK(update_linucb<dyn>)->Name("update/linucb")->ArgName("d")->Arg(32)->Arg(64);
BENCHMARK(update_ts<fixed>)->Name("update/ts" + fixed_name);
BENCHMARK(update_ts<dyn>)->Name("update/ts")->ArgName("d")->Arg(32)->Arg(64);
BENCHMARK(production_choose_slate)->Name("slate/production_choose_slate" + fixed_name);

}  // namespace
}  // namespace marquee::bandits

BENCHMARK_MAIN();
