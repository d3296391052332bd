// prequential: test-then-train evaluation of the online models on an event
// stream (Dawid 1984; Gama et al. 2013 for streams). For each event in order:
// if it is a test case, every method recommends k items for that user from
// the state learned so far, and scores a hit if the event's item is among
// them; then the event is applied, exactly as ingest would apply it.
// Pure: no I/O, deterministic given the options; not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "evaluation/metrics.h"
#include "events/event.h"

namespace marquee::evaluation {

enum class method : std::uint8_t { random, popularity, covisitation, online_mf, retrieval_union };
inline constexpr std::size_t method_count = 5;
inline constexpr std::array<std::string_view, method_count> method_names = {
    "random", "popularity", "covisitation", "online_mf", "union"};

struct prequential_options {
    engine::model_options model;
    // List length scored. Default: 10.
    int k = 10;
    // A rating event is a test case when its stars are at least this (an
    // explicit "liked it"); likes and watches of at least half are too.
    // Every event is trained on. Default: 4.0.
    double min_rating = 4.0;
    // Events per point of the metric curve. Default: 5000.
    std::size_t curve_every = 5000;
    // Seed of the random baseline. Default: 7.
    std::uint64_t seed = 7;
    // Candidates each source contributes to the union. Defaults: 100/50/50/20.
    int union_embedding_n = 100;
    int union_covisit_n = 50;
    int union_popular_n = 50;
    int union_new_release_n = 20;
    // Most recent history items expanded by co-visitation. Default: 10.
    int covisit_history_n = 10;
    // Reciprocal-rank-fusion constant ranking the union (Cormack, Clarke &
    // Buettcher, SIGIR 2009): score = sum over sources 1 / (rrf_k + rank).
    // Default: 60 (the paper's value).
    double rrf_k = 60.0;
};

// True if `e` is scored (see prequential_options::min_rating).
bool is_test_case(const events::event& e, const prequential_options& options);

struct curve_point {
    std::size_t events = 0;  // events applied so far
    std::array<ranking_metrics, method_count> window;      // since the previous point
    std::array<ranking_metrics, method_count> cumulative;  // since the start
};

struct prequential_report {
    std::size_t events = 0;
    std::array<ranking_metrics, method_count> total;
    // Test cases whose item had never been seen: no method can hit them.
    std::uint64_t unseen_item_cases = 0;
    // Test cases of users with no embedding yet (first event).
    std::uint64_t cold_user_cases = 0;
    // Whether the relevant item was anywhere in the union's candidate set
    // (before fusion cut it to k), and the set's mean size.
    ranking_metrics union_recall;
    double union_candidates_mean = 0.0;
    std::vector<curve_point> curve;

    const ranking_metrics& of(method m) const { return total[std::size_t(m)]; }
};

class prequential {
public:
    explicit prequential(prequential_options options);
    ~prequential();
    prequential(const prequential&) = delete;
    prequential& operator=(const prequential&) = delete;

    // Scores `e` (if a test case) against the state so far, then learns it.
    void step(const events::event& e);
    // Totals so far, with a final partial curve point if one is pending.
    prequential_report report() const;
    const engine::model& model() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Runs the whole stream; `progress(done, total)` is called every
// `progress_every` events and at the end (may be empty).
prequential_report run_prequential(std::span<const events::event> stream, const prequential_options& options,
                                   const std::function<void(std::size_t, std::size_t)>& progress = {},
                                   std::size_t progress_every = 1000);

}  // namespace marquee::evaluation
