// models_bench: what one event and one retrieval cost.
//   update/<d>            learner.apply of a liked item (MF step + 2 negatives
//                         + co-visitation with 5 recent items), ns/event
//   retrieval/<items>     embedding top-100 over the whole catalog (d = 32)
//                         plus co-visitation, p50/p99 per request
//   snapshot/<items>      publishing a serving snapshot (d = 32)
//   dot_kernel/<items>    the mat-vec alone: GFLOP/s, and the ceiling a
//                         STREAM-like sum over the same bytes allows
// Compiled like the rest of Marquee: baseline x86-64 (no -march=native).
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "bench/percentile.h"
#include "core/rng.h"
#include "engine/learner.h"
#include "engine/model_snapshot.h"
#include "engine/retrieval.h"

namespace {

using namespace marquee;
using clock_type = std::chrono::steady_clock;

// A model with `items` items and a history of likes, as ingest leaves it.
struct world {
    engine::model m;
    engine::learner l{m};
    engine::touched t;
    std::vector<engine::user_state> users;
    std::vector<std::string> item_ids;
    core::splitmix64 rng{1};

    world(int dim, std::size_t items, std::size_t n_users)
        : m([dim] {
              engine::model_options o;
              o.mf.dim = dim;
              return o;
          }()),
          users(n_users) {
        for (std::size_t i = 0; i < items; ++i) {
            item_ids.push_back("m" + std::to_string(i));
            m.ensure_item(item_ids.back(), 0);
        }
        for (std::size_t i = 0; i < n_users * 20; ++i) apply(std::int64_t(i));
    }
    events::event next(std::int64_t ts) {
        events::event e;
        e.type = events::event_type::like;
        const auto u = rng.below(users.size());
        e.user_id = "u" + std::to_string(u);
        // Skewed like real catalogs: a product of uniforms favours low ids.
        e.item_id = item_ids[std::size_t(double(item_ids.size()) * rng.uniform() * rng.uniform())];
        e.ts_ms = ts;
        return e;
    }
    void apply(std::int64_t ts) {
        auto e = next(ts);
        l.apply(e, users[std::stoul(e.user_id.substr(1))], nullptr, t);
        t.clear();
    }
};

void update(benchmark::State& state) {
    world w(int(state.range(0)), 10'000, 1000);
    std::vector<events::event> stream;
    for (int i = 0; i < 4096; ++i) stream.push_back(w.next(1'000'000 + i));
    std::vector<std::size_t> user_of;
    for (const auto& e : stream) user_of.push_back(std::stoul(e.user_id.substr(1)));
    std::size_t i = 0;
    for (auto _ : state) {
        const auto k = i++ & 4095;
        w.l.apply(stream[k], w.users[user_of[k]], nullptr, w.t);
        w.t.clear();
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()));
}
BENCHMARK(update)->Arg(16)->Arg(32)->Arg(64)->Unit(benchmark::kNanosecond);

void retrieval(benchmark::State& state) {
    const auto items = std::size_t(state.range(0));
    world w(32, items, 200);
    // As serving scans it: the snapshot's binary16 copy, rescored in float.
    const auto half = engine::to_half(w.m.items().matrix());
    std::vector<std::uint8_t> excluded(items, 0);
    std::vector<std::uint32_t> history;
    std::vector<double> micros;
    std::size_t u = 0;
    for (auto _ : state) {
        auto& user = w.users[u++ % w.users.size()];
        const auto start = clock_type::now();
        history.clear();
        for (const auto& id : user.recent) history.push_back(*w.m.items().find(id));
        for (auto r : history) excluded[r] = 1;
        auto top = engine::top_n_by_dot(w.m.items().matrix(), user.embedding, 100, excluded, &half);
        engine::covisit_query q;
        q.history = history;
        auto co = engine::top_n_covisited([&w](std::uint32_t r) { return w.m.covisit().neighbours(r); }, q, 20,
                                          excluded);
        for (auto r : history) excluded[r] = 0;
        benchmark::DoNotOptimize(top.data());
        benchmark::DoNotOptimize(co.data());
        micros.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - start).count());
    }
    std::sort(micros.begin(), micros.end());
    state.counters["p50_us"] = bench::percentile(micros, 50);
    state.counters["p99_us"] = bench::percentile(micros, 99);
}
BENCHMARK(retrieval)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

// Publishing a serving snapshot copies the item matrix, popularity and the
// co-visitation lists; ingest does it at most every publish_interval_ms.
void snapshot(benchmark::State& state) {
    world w(32, std::size_t(state.range(0)), 2000);
    std::shared_ptr<const engine::model_snapshot> previous = engine::take_snapshot(w.m, {}, nullptr);
    for (auto _ : state) {
        auto s = engine::take_snapshot(w.m, {}, previous.get());
        benchmark::DoNotOptimize(s.get());
    }
    state.counters["covisit_entries"] = double(w.m.covisit().entries());
}
BENCHMARK(snapshot)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

// Sum of `n` floats (a multiple of 64) over 8 independent AVX accumulators:
// enough chains in flight that the loads, not the adds' latency, bound it.
// (One or two chains, as a plain loop compiles to, measure add latency:
// the same "bandwidth" for cache and DRAM.)
__attribute__((target("avx"))) float sum_avx(const float* data, std::size_t n) {
    __m256 acc[8];
    for (auto& a : acc) a = _mm256_setzero_ps();
    for (std::size_t i = 0; i + 64 <= n; i += 64)
        for (int j = 0; j < 8; ++j) acc[j] = _mm256_add_ps(acc[j], _mm256_loadu_ps(data + i + 8 * std::size_t(j)));
    float lanes[8], total = 0;
    for (auto& a : acc) {
        _mm256_storeu_ps(lanes, a);
        for (float v : lanes) total += v;
    }
    return total;
}

float sum_sse(const float* data, std::size_t n) {
    __m128 acc[8];
    for (auto& a : acc) a = _mm_setzero_ps();
    for (std::size_t i = 0; i + 32 <= n; i += 32)
        for (int j = 0; j < 8; ++j) acc[j] = _mm_add_ps(acc[j], _mm_loadu_ps(data + i + 4 * std::size_t(j)));
    float lanes[4], total = 0;
    for (auto& a : acc) {
        _mm_storeu_ps(lanes, a);
        for (float v : lanes) total += v;
    }
    return total;
}

// Best-of-N time of a STREAM-like sum over `n` floats: the rate at which
// this machine can read the item matrix from wherever it lives (cache or
// DRAM, depending on its size), with the widest loads it has.
double stream_bytes_per_second(const float* data, std::size_t n) {
    const bool avx = __builtin_cpu_supports("avx");
    n -= n % 64;
    double best = 1e300;
    for (int rep = 0; rep < 30; ++rep) {
        const auto start = clock_type::now();
        const float total = avx ? sum_avx(data, n) : sum_sse(data, n);
        benchmark::DoNotOptimize(total);
        best = std::min(best, std::chrono::duration<double>(clock_type::now() - start).count());
    }
    return double(n * sizeof(float)) / best;
}

void dot_kernel(benchmark::State& state) {
    const auto items = Eigen::Index(state.range(0));
    const int dim = 32;
    core::splitmix64 rng(3);
    online_models::row_matrix m(items, dim);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = float(rng.uniform() - 0.5);
    Eigen::VectorXf user(dim), scores(items);
    for (int d = 0; d < dim; ++d) user[d] = float(rng.uniform() - 0.5);
    const double bandwidth = stream_bytes_per_second(m.data(), std::size_t(m.size()));
    for (auto _ : state) {
        scores.noalias() = m * user;
        benchmark::DoNotOptimize(scores.data());
        benchmark::ClobberMemory();
    }
    const double flops = 2.0 * double(items) * dim, bytes = double(items) * dim * sizeof(float);
    state.counters["GFLOPs"] = benchmark::Counter(flops * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
    state.counters["GBps"] = benchmark::Counter(bytes * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
    state.counters["stream_GBps"] = bandwidth / 1e9;
    // Each float read feeds one multiply-add (2 flops per 4 bytes).
    state.counters["ceiling_GFLOPs"] = bandwidth / 1e9 * (flops / bytes);
}
// 1M items (128 MB) is past the 32 MB L3 of the dev machine: a DRAM ceiling.
BENCHMARK(dot_kernel)->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
