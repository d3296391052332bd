// recommend_bench: what one recommendation costs in-process, without HTTP,
// RocksDB or Kafka, over the MovieLens catalog with a warm model (every
// rating applied, titles and genres from movies.csv), for each of the 610
// users in turn. Prints one key=value line per stage, microseconds per call
// (median and p99 of per-call times over all rounds):
//   retrieval_reference  the plain way: Eigen float mat-vec over the whole
//                        catalog, then partial_sort of the eligible rows
//   retrieval_float      engine::top_n_by_dot scanning the float matrix
//   retrieval            engine::top_n_by_dot as serving calls it, scanning
//                        the snapshot's binary16 copy (float where there is none)
//   retrieval_dot_only   the float scan's dot products alone (engine::dot_rows)
//   recommend            engine::recommend as serving calls it (defaults)
// and the ratio retrieval_reference / retrieval from the same run.
//   recommend_bench [--movielens DIR] [--rounds 20] [--only STAGE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app/config.h"
#include "bench/percentile.h"
#include "core/hash.h"
#include "engine/learner.h"
#include "engine/model_snapshot.h"
#include "engine/recommender.h"
#include "engine/retrieval.h"
#include "events/movielens.h"

namespace {

using namespace marquee;
using clock_type = std::chrono::steady_clock;

struct stats {
    double p50 = 0, p99 = 0;
};

stats summarize(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {bench::percentile(v, 50), bench::percentile(v, 99)};
}

template <class F>
stats time_calls(std::size_t calls, F&& f) {
    if (calls == 0) return {};
    std::vector<double> us;
    us.reserve(calls);
    for (std::size_t i = 0; i < calls; ++i) {
        const auto start = clock_type::now();
        f(i);
        us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - start).count());
    }
    return summarize(std::move(us));
}

int fail(const std::string& message) {
    std::fprintf(stderr, "recommend_bench: %s\n", message.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = MARQUEE_SOURCE_DIR "/data/ml-latest-small";
    int rounds = 20;
    std::string only;  // one stage (for perf record); empty: all
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--movielens")) dir = argv[i + 1];
        else if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
        else return fail(std::string("unknown option ") + argv[i]);
    }
    auto ratings = events::load_movielens_ratings(dir + "/ratings.csv");
    if (!ratings) return fail(ratings.error().message);
    auto movies = events::load_movielens_movies(dir + "/movies.csv");
    if (!movies) return fail(movies.error().message);

    app::config cfg;
    cfg.api.recommend.slate.new_release.max_age_days = cfg.model.new_release_days;
    const auto& options = cfg.api.recommend;
    engine::model m(cfg.model);
    engine::learner learner(m);
    engine::touched touched;
    for (const auto& item : movies.value()) m.apply_catalog(item);
    std::vector<std::string> user_ids;
    boost::unordered_flat_map<std::string, engine::user_state> users;
    for (const auto& e : ratings.value()) {
        auto [it, added] = users.try_emplace(e.user_id);
        if (added) user_ids.push_back(e.user_id);
        learner.apply(e, it->second, nullptr, touched);
        touched.clear();
    }
    const auto snapshot = engine::take_snapshot(m, {}, nullptr);
    const auto& s = *snapshot;
    const std::int64_t now_ms = m.clock_ms();
    const std::size_t calls = user_ids.size() * std::size_t(rounds);
    auto calls_of = [&](const char* stage) { return only.empty() || only == stage ? calls : 0; };
    std::vector<std::uint8_t> excluded(s.item_count(), 0);
    const Eigen::Map<const online_models::row_matrix> items(s.embeddings.data(), s.embeddings.rows(), s.dim);
    std::size_t sink = 0;

    const auto n = std::size_t(options.retrieval_n);
    const auto reference = time_calls(calls_of("retrieval_reference"), [&](std::size_t i) {
        const auto& u = users[user_ids[i % user_ids.size()]];
        const Eigen::VectorXf scores = items * Eigen::Map<const Eigen::VectorXf>(u.embedding.data(), s.dim);
        std::vector<engine::scored_row> all;
        for (std::uint32_t r = 0; r < s.item_count(); ++r)
            if (!excluded[r]) all.push_back({r, scores[r], r});
        std::partial_sort(all.begin(), all.begin() + std::ptrdiff_t(std::min(n, all.size())), all.end(),
                          [](const auto& a, const auto& b) { return a.score > b.score || (a.score == b.score && a.row < b.row); });
        sink += all.size();
    });
    Eigen::VectorXf scores(s.item_count());
    const auto dot = time_calls(calls_of("retrieval_dot_only"), [&](std::size_t i) {
        engine::dot_rows(items, users[user_ids[i % user_ids.size()]].embedding, scores.data());
        sink += scores[0] > 0;
    });
    const auto scan_float = time_calls(calls_of("retrieval_float"), [&](std::size_t i) {
        const auto& u = users[user_ids[i % user_ids.size()]];
        sink += engine::top_n_by_dot(items, u.embedding, n, excluded).size();
    });
    const auto scan = time_calls(calls_of("retrieval"), [&](std::size_t i) {
        const auto& u = users[user_ids[i % user_ids.size()]];
        sink += engine::top_n_by_dot(items, u.embedding, n, excluded, &s.embeddings_half).size();
    });
    const auto full = time_calls(calls_of("recommend"), [&](std::size_t i) {
        const auto& id = user_ids[i % user_ids.size()];
        engine::recommend_request rq;
        rq.user_id = id;
        rq.k = cfg.api.default_k;
        rq.seed = core::mix64(7, i);
        rq.now_ms = now_ms;
        sink += engine::recommend(s, &users[id], rq, options).items.size();
    });
    std::printf("items=%zu users=%zu calls=%zu dim=%d\n", s.item_count(), user_ids.size(), calls, s.dim);
    auto row = [](const char* name, stats st) { std::printf("%s p50_us=%.2f p99_us=%.2f\n", name, st.p50, st.p99); };
    std::printf("binary16_scan=%s\n", s.embeddings_half.empty() ? "no" : "yes");
    row("retrieval_reference", reference);
    row("retrieval_float", scan_float);
    row("retrieval", scan);
    row("retrieval_dot_only", dot);
    row("recommend", full);
    if (only.empty()) std::printf("retrieval_speedup=%.2f\n", reference.p50 / scan.p50);
    return sink == 0 ? 1 : 0;
}
