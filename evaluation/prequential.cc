#include "evaluation/prequential.h"

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <memory>
#include <string>

#include "core/rng.h"
#include "engine/learner.h"
#include "engine/retrieval.h"
#include "engine/user_state.h"

namespace marquee::evaluation {

using events::event_type;

bool is_test_case(const events::event& e, const prequential_options& o) {
    switch (e.type) {
    case event_type::rating: return e.value && *e.value >= o.min_rating;
    case event_type::like: return true;
    case event_type::watch: return e.value.value_or(1.0) >= 0.5;
    default: return false;
    }
}

namespace {

struct user_entry {
    engine::user_state state;
    std::vector<std::uint32_t> seen;  // every item row consumed, oldest first
};

}  // namespace

struct prequential::impl {
    prequential_options options;
    engine::model model;
    engine::learner learner{model};
    engine::touched touched;
    boost::unordered_flat_map<std::string, user_entry, online_models::string_hash, std::equal_to<>> users;
    core::splitmix64 rng;
    prequential_report report;
    std::array<ranking_metrics, method_count> window{};
    double union_candidates_sum = 0.0;

    // Scratch reused across test cases.
    std::vector<std::uint8_t> excluded;
    std::vector<float> popularity;
    std::vector<std::uint32_t> liked;

    explicit impl(prequential_options o) : options(o), model(o.model), rng(o.seed) {}

    void score(const events::event& e, user_entry& user);
    void push_point() {
        curve_point p;
        p.events = report.events;
        p.window = window;
        p.cumulative = report.total;
        report.curve.push_back(p);
        window = {};
    }
};

void prequential::impl::score(const events::event& e, user_entry& user) {
    const std::size_t n = model.items().size();
    const auto target = model.items().find(e.item_id);
    const std::size_t k = std::size_t(std::max(options.k, 1));
    auto record = [&](method m, std::span<const engine::scored_row> list) {
        int rank = -1;
        if (target)
            for (std::size_t i = 0; i < std::min(k, list.size()); ++i)
                if (list[i].row == *target) {
                    rank = int(i);
                    break;
                }
        report.total[std::size_t(m)].add(rank);
        window[std::size_t(m)].add(rank);
    };
    if (!target) ++report.unseen_item_cases;

    excluded.assign(n, 0);
    for (auto r : user.seen) excluded[r] = 1;
    std::size_t available = n;
    for (auto r : user.seen) available -= (r < n);  // rows in `seen` are distinct

    // Random: k distinct unseen items, uniformly (rejection sampling; the
    // catalog is far larger than one user's history).
    {
        std::vector<engine::scored_row> list;
        const std::size_t want = std::min(k, available);
        while (list.size() < want) {
            auto r = static_cast<std::uint32_t>(rng.below(n));
            if (excluded[r]) continue;
            excluded[r] = 2;  // temporarily: picked
            list.push_back({r, 0.0f, r});
        }
        for (const auto& c : list) excluded[c.row] = 0;
        record(method::random, list);
    }

    // Popularity: decayed counts at the model's clock.
    popularity.resize(n);
    const double half_life = model.options().half_life_ms();
    for (std::uint32_t r = 0; r < n; ++r)
        popularity[r] = static_cast<float>(model.stats(r).popularity.at(model.clock_ms(), half_life));
    const auto popular = engine::top_n(popularity, std::size_t(std::max<int>(options.union_popular_n, int(k))), excluded);
    record(method::popularity, popular);

    // Co-visitation of the user's recent liked items, as serving expands them.
    liked.clear();
    for (std::size_t i = 0; i < user.state.recent.size(); ++i)
        if (user.state.positive_at(i))
            if (auto row = model.items().find(user.state.recent[i])) liked.push_back(*row);
    engine::covisit_query q;
    q.history = liked;
    q.history_n = options.covisit_history_n;
    q.per_item = std::max(options.union_covisit_n, int(k));
    const auto covisited = engine::top_n_covisited(
        [this](std::uint32_t r) { return model.covisit().neighbours(r); }, q,
        std::size_t(std::max<int>(options.union_covisit_n, int(k))), excluded);
    record(method::covisitation, covisited);

    // Online MF: dot product over the whole catalog (a user with no
    // embedding yet scores every item 0, i.e. no information).
    std::vector<float> zero;
    std::span<const float> u = user.state.embedding;
    if (user.state.embedding.empty()) {
        zero.assign(std::size_t(model.dim()), 0.0f);
        u = zero;
        ++report.cold_user_cases;
    }
    const auto embedded = engine::top_n_by_dot(model.items().matrix(), u,
                                               std::size_t(std::max<int>(options.union_embedding_n, int(k))),
                                               excluded);
    record(method::online_mf, embedded);

    // New releases: newest first appearances inside the window.
    std::vector<engine::scored_row> fresh;
    const auto window_ms = std::int64_t(model.options().new_release_days * 86400e3);
    for (std::uint32_t r = 0; r < n; ++r)
        if (!excluded[r] && model.clock_ms() - model.stats(r).first_seen_ms <= window_ms)
            fresh.push_back({r, 0.0f, r});
    const std::size_t fresh_n = std::min(fresh.size(), std::size_t(std::max(options.union_new_release_n, 0)));
    std::partial_sort(fresh.begin(), fresh.begin() + std::ptrdiff_t(fresh_n), fresh.end(), [&](auto a, auto b) {
        const auto fa = model.stats(a.row).first_seen_ms, fb = model.stats(b.row).first_seen_ms;
        return fa > fb || (fa == fb && a.row < b.row);
    });
    fresh.resize(fresh_n);

    // Union: every source's candidates, ranked by reciprocal rank fusion.
    boost::unordered_flat_map<std::uint32_t, float> fused;
    auto fuse = [&](std::span<const engine::scored_row> list, std::size_t limit) {
        for (std::size_t i = 0; i < std::min(limit, list.size()); ++i)
            fused[list[i].row] += float(1.0 / (options.rrf_k + double(i + 1)));
    };
    if (!user.state.embedding.empty()) fuse(embedded, std::size_t(std::max(options.union_embedding_n, 0)));
    fuse(covisited, std::size_t(std::max(options.union_covisit_n, 0)));
    fuse(popular, std::size_t(std::max(options.union_popular_n, 0)));
    fuse(fresh, fresh_n);
    std::vector<engine::scored_row> merged;
    merged.reserve(fused.size());
    for (const auto& [row, s] : fused) merged.push_back({row, s, row});
    union_candidates_sum += double(merged.size());
    bool in_set = false;
    if (target)
        for (const auto& c : merged) in_set |= c.row == *target;
    report.union_recall.add(in_set ? 0 : -1);
    const std::size_t top = std::min(k, merged.size());
    std::partial_sort(merged.begin(), merged.begin() + std::ptrdiff_t(top), merged.end(), [](auto a, auto b) {
        return a.score > b.score || (a.score == b.score && a.row < b.row);
    });
    merged.resize(top);
    record(method::retrieval_union, merged);
}

prequential::prequential(prequential_options options) : impl_(std::make_unique<impl>(options)) {}
prequential::~prequential() = default;

const engine::model& prequential::model() const { return impl_->model; }

void prequential::step(const events::event& e) {
    auto& i = *impl_;
    auto it = i.users.find(e.user_id);
    if (it == i.users.end()) it = i.users.emplace(e.user_id, user_entry{}).first;
    user_entry& user = it->second;

    if (is_test_case(e, i.options)) i.score(e, user);

    i.touched.clear();
    i.learner.apply(e, user.state, nullptr, i.touched);
    // Seen, as in the learner's history, is what the user consumed: a reward
    // answers a decision (and creates no item row), an impression only showed it.
    const bool consumed = e.type != event_type::impression && e.type != event_type::reward;
    if (const auto row = i.model.items().find(e.item_id); consumed && row)
        if (std::find(user.seen.begin(), user.seen.end(), *row) == user.seen.end()) user.seen.push_back(*row);
    ++i.report.events;
    if (i.options.curve_every > 0 && i.report.events % i.options.curve_every == 0) i.push_point();
}

prequential_report prequential::report() const {
    prequential_report r = impl_->report;
    const auto cases = r.union_recall.cases;
    r.union_candidates_mean = cases ? impl_->union_candidates_sum / double(cases) : 0.0;
    if (impl_->window[0].cases > 0 || (r.curve.empty() && r.events > 0)) {
        curve_point p;
        p.events = r.events;
        p.window = impl_->window;
        p.cumulative = r.total;
        r.curve.push_back(p);
    }
    return r;
}

prequential_report run_prequential(std::span<const events::event> stream, const prequential_options& options,
                                   const std::function<void(std::size_t, std::size_t)>& progress,
                                   std::size_t progress_every) {
    prequential eval(options);
    for (std::size_t i = 0; i < stream.size(); ++i) {
        eval.step(stream[i]);
        if (progress && progress_every > 0 && (i + 1) % progress_every == 0) progress(i + 1, stream.size());
    }
    if (progress) progress(stream.size(), stream.size());
    return eval.report();
}

}  // namespace marquee::evaluation
