// The serving hot path must not allocate once its workspace has grown:
// counts heap allocations (at malloc itself: Eigen allocates with
// std::malloc, not operator new) while a slate is filled and a model updated.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <atomic>
#include <cstdlib>

#include "bandits/linear_ts.h"
#include "bandits/slate.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
void count_allocation() {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// The sanitizer owns malloc; it calls these hooks on every allocation (its
// runtime exports the function; GCC ships no header declaring it).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, std::size_t),
                                                         void (*)(const volatile void*));
namespace {
void on_malloc(const volatile void*, std::size_t) { count_allocation(); }
void on_free(const volatile void*) {}
[[maybe_unused]] const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace
#else
// Interposes malloc, calloc and realloc for the whole process (operator new,
// Eigen, libstdc++), forwarding to glibc's own, so free stays glibc's. Not
// the aligned allocators: Eigen's alignment here is malloc's, and nothing
// in these paths over-aligns.
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
extern "C" void* malloc(std::size_t n) {
    count_allocation();
    return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t n, std::size_t size) {
    count_allocation();
    return __libc_calloc(n, size);
}
extern "C" void* realloc(void* p, std::size_t n) {
    count_allocation();
    return __libc_realloc(p, n);
}
#endif

namespace marquee::bandits {
namespace {

template <class F>
long allocations_in(F&& f) {
    allocations = 0;
    counting = true;
    f();
    counting = false;
    return allocations.load();
}

template <int Dim>
void expect_allocation_free(int d) {
    linear_ts<Dim> ts({.lambda = 1.0, .v = 0.3}, d);
    std::vector<typename linear_ts<Dim>::vector> xs;
    normal_source normal(1);
    for (int i = 0; i < 200; ++i) {
        typename linear_ts<Dim>::vector x(d);
        for (int j = 0; j < d; ++j) x[j] = normal();
        xs.push_back(x);
        ts.update(x, x[0]);
    }
    ridge_scorer<Dim> view(ts, xs);
    std::vector<candidate_meta> meta(xs.size());
    for (std::size_t i = 0; i < meta.size(); ++i) meta[i].genres = genre_mask(1) << (i % 5);
    slate_workspace ws;
    std::vector<slot> out;
    for (auto kind : {policy_kind::ucb, policy_kind::thompson, policy_kind::epsilon_greedy}) {
        slate_options o{.k = 10, .epsilon = 0.1, .policy = kind};
        o.diversity.max_per_genre = 3;
        const slate_inputs in{.meta = meta, .forced = {}, .seed = 3};
        fill_slate(view, o, in, ws, out);  // grows the workspace
        EXPECT_EQ(allocations_in([&] { fill_slate(view, o, in, ws, out); }), 0) << to_string(kind) << " d " << d;
        EXPECT_EQ(allocations_in([&] { ts.update(xs[0], 1.0); }), 0) << "update d " << d;
    }
}

TEST(hot_path, fill_slate_and_update_do_not_allocate_with_a_reused_workspace) {
    expect_allocation_free<8>(8);
    expect_allocation_free<Eigen::Dynamic>(32);
}

TEST(hot_path, the_production_model_path_does_not_allocate_either) {
    linucb_policy p{linucb_options{}};
    std::vector<feature_vector> xs(300, feature_vector::Zero());
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i][0] = 1.0, xs[i][1] = 0.01 * double(i);
    const linucb_scorer view(p, xs);
    slate_workspace ws;
    std::vector<slot> out;
    for (auto kind : {policy_kind::ucb, policy_kind::thompson}) {
        const slate_options o{.k = 10, .epsilon = 0.05, .policy = kind};
        fill_slate(view, o, {.seed = 1}, ws, out);
        EXPECT_EQ(allocations_in([&] { fill_slate(view, o, {.seed = 2}, ws, out); }), 0) << to_string(kind);
    }
    EXPECT_EQ(allocations_in([&] { EXPECT_TRUE(p.update(xs[3], 1.0)); }), 0);
}

TEST(hot_path, the_counter_sees_allocations) {
    EXPECT_GT(allocations_in([] { std::vector<int> v(100); (void)v; }), 0);
    // Eigen's own (std::malloc): the allocations the first version of this
    // test, counting only operator new, did not see.
    EXPECT_GT(allocations_in([] { Eigen::VectorXd v(100); (void)v; }), 0);
}

}  // namespace
}  // namespace marquee::bandits
