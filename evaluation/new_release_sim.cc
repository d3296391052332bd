#include "evaluation/new_release_sim.h"

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <memory>

#include "core/hash.h"
#include "engine/exposure_tracker.h"
#include "engine/learner.h"
#include "engine/model_snapshot.h"

namespace marquee::evaluation {

namespace {

struct release {
    std::size_t released_at = 0;  // request index (= simulated second)
    std::size_t impressions = 0;
    double reward = 0.0;
    std::optional<std::size_t> reached_n_at;
};

double quantile(std::vector<double> v, double q) {
    if (v.empty()) return 0.0;
    const auto at = std::size_t(q * double(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(at), v.end());
    return v[at];
}

}  // namespace

new_release_sim_report run_new_release_sim(std::span<const events::event> ratings, const new_release_sim_options& o,
                                           const std::function<void(std::size_t, std::size_t)>& progress) {
    using string_set = boost::unordered_flat_set<std::string>;
    boost::unordered_flat_map<std::string, string_set> liked;
    boost::unordered_flat_map<std::string, std::size_t> first_rated;
    for (std::size_t i = 0; i < ratings.size(); ++i) {
        const auto& e = ratings[i];
        if (e.value.value_or(0.0) >= o.like_rating) liked[e.user_id].insert(e.item_id);
        first_rated.try_emplace(e.item_id, i);
    }
    const auto warm = std::size_t(o.warmup * double(ratings.size()));
    boost::unordered_flat_map<std::string, release> releases;
    for (const auto& [item, at] : first_rated)
        if (at >= warm) releases.emplace(item, release{.released_at = at});

    engine::model m(o.model);
    engine::learner learner(m);
    engine::touched touched;
    boost::unordered_flat_map<std::string, engine::user_state> users;
    engine::exposure_tracker exposure;
    std::shared_ptr<const engine::model_snapshot> snapshot;
    new_release_sim_report report;
    report.releases = releases.size();
    double reward_sum = 0.0;
    constexpr std::int64_t start_ms = 1'000'000'000'000;

    for (std::size_t i = 0; i < ratings.size(); ++i) {
        if (progress && (i % 1024 == 0 || i + 1 == ratings.size())) progress(i + 1, ratings.size());
        events::event e = ratings[i];
        e.ts_ms = start_ms + std::int64_t(i) * 1000;
        if (!snapshot || i % std::size_t(std::max(o.snapshot_every, 1)) == 0)
            snapshot = engine::take_snapshot(m, {}, snapshot.get());
        auto& user = users[e.user_id];

        engine::recommend_request rq{e.user_id, o.k, "", core::mix64(o.seed, i)};
        rq.now_ms = e.ts_ms;
        const auto list = engine::recommend(*snapshot, &user, rq, o.recommend, &exposure);
        exposure.record(list.new_release_rows, rq.now_ms);
        auto decision = engine::to_pending(list, e.user_id, e.ts_ms);
        const auto& likes = liked[e.user_id];
        ++report.requests;
        for (const auto& shown : list.items) {
            const double reward = likes.contains(shown.item_id) ? 1.0 : 0.0;
            events::event r;
            r.type = events::event_type::reward;
            r.user_id = e.user_id;
            r.item_id = shown.item_id;
            r.decision_id = "simulated";
            r.value = reward;
            r.ts_ms = e.ts_ms;
            learner.apply(r, user, &decision, touched);
            ++report.shown;
            reward_sum += reward;
            report.forced += shown.forced;
            if (auto it = releases.find(shown.item_id); it != releases.end()) {
                auto& rel = it->second;
                ++report.release_impressions;
                rel.reward += reward;
                if (++rel.impressions == std::size_t(o.impressions)) rel.reached_n_at = i;
            }
        }
        learner.apply(e, user, nullptr, touched);
        touched.clear();
    }

    report.reward_rate = report.shown ? reward_sum / double(report.shown) : 0.0;
    double release_reward = 0.0;
    std::vector<double> seconds;
    for (const auto& [item, rel] : releases) {
        release_reward += rel.reward;
        if (rel.reached_n_at) seconds.push_back(double(*rel.reached_n_at - rel.released_at));
    }
    report.release_reward_rate = report.release_impressions ? release_reward / double(report.release_impressions) : 0.0;
    report.releases_reaching_n = seconds.size();
    report.median_seconds_to_n = quantile(seconds, 0.5);
    report.p90_seconds_to_n = quantile(seconds, 0.9);
    return report;
}

}  // namespace marquee::evaluation
