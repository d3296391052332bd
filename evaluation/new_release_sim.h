// new_release_sim: what the new-release exploration knobs buy, simulated on a
// ratings stream (e.g. MovieLens). The stream is replayed at one rating per
// simulated second; each rating is first a recommendation request of that
// user, answered by the real serving path (engine::recommend over snapshots
// of a model the same events train). A shown item earns reward 1 when the
// user rated it at least `like_rating` anywhere in the data (a
// full-information simulator), else the default 0; every reward teaches the
// bandit. Items first rated after the warm-up are the "new releases":
// reported is how fast they reach N impressions and what they earn.
// Pure and deterministic: no I/O.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/recommender.h"
#include "events/event.h"

namespace marquee::evaluation {

struct new_release_sim_options {
    // Model and serving configuration (policy, epsilon, new-release weight,
    // exposure floor, diversity) under test.
    engine::model_options model;
    engine::recommend_options recommend;
    // Slate size. Default: 10.
    int k = 10;
    // Shown items the user rated at least this earn 1. Default: 4.
    double like_rating = 4.0;
    // Items first rated in the first `warmup` fraction of the stream are the
    // back catalogue; later ones are releases. Default: 0.25.
    double warmup = 0.25;
    // N in "time to first N impressions". Default: 20.
    int impressions = 20;
    // Requests between serving snapshots (ingest publishes a few times a
    // second; at one request per second this is comparable). Default: 50.
    int snapshot_every = 50;
    std::uint64_t seed = 7;
};

struct new_release_sim_report {
    std::size_t requests = 0;
    std::size_t shown = 0;
    double reward_rate = 0.0;  // mean reward per shown item, all items
    std::size_t releases = 0;  // items first rated after the warm-up
    std::size_t release_impressions = 0;
    double release_reward_rate = 0.0;  // mean reward per impression of a release
    std::size_t releases_reaching_n = 0;
    // Simulated seconds from release to the N-th impression, over the
    // releases that reached N (0 if none did).
    double median_seconds_to_n = 0.0;
    double p90_seconds_to_n = 0.0;
    std::size_t forced = 0;  // exposure-floor insertions
};

// `progress(done, total)` is called now and then, if given.
new_release_sim_report run_new_release_sim(std::span<const events::event> ratings,
                                           const new_release_sim_options& options,
                                           const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace marquee::evaluation
