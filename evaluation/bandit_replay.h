// bandit_replay: off-policy evaluation of the bandit policies on a rating
// stream (e.g. MovieLens), as a semi-synthetic logged-bandit problem (Li et
// al. 2011): each rating of an item already seen becomes a decision among K
// candidates (the rated item and K-1 others seen, drawn uniformly; a first
// rating is none, as its item alone would look new), logged by a uniform-
// random policy; the reward is 1 when the logged pick is the rated item and
// the rating is at least `like_rating`, else 0 (an unrated item counts as
// not liked). Every target policy is scored by replay (learning only from
// its matches) and by IPS, SNIPS and doubly robust against the same log,
// next to a popularity baseline (the candidate with the most ratings so far).
// Pure and seeded: no I/O; the same events and options give the same report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bandits/linucb_policy.h"
#include "bandits/ope.h"
#include "bandits/policy_kind.h"
#include "events/event.h"

namespace marquee::evaluation {

struct bandit_replay_options {
    // K: candidates per decision (the rated item plus K-1 others). Default: 10.
    int arms = 10;
    // A logged pick of the rated item earns 1 at this rating or above. Default: 4.
    double like_rating = 4.0;
    // Seeds candidate sampling, the logging policy and every policy's exploration. Default: 7.
    std::uint64_t seed = 7;
    // Model of every learned policy (alpha is LinUCB's width, also the TS scale). Default: engine defaults.
    bandits::linucb_options linucb;
    // Epsilon of linucb, thompson and epsilon_greedy. Default: 0.05.
    double epsilon = 0.05;
    // Items this young carry the feature map's new-release flag. Default: 30.
    double new_release_days = 30.0;
    // Also evaluate the popularity baseline. Default: true.
    bool popularity = true;
    // Policies to evaluate. Default: all five kinds.
    std::vector<bandits::policy_kind> policies{bandits::all_policy_kinds.begin(), bandits::all_policy_kinds.end()};
};

// Cumulative estimates after the first `decisions` logged decisions.
struct reward_curve_point {
    std::size_t decisions = 0;
    double replay = 0.0;  // mean reward over the matches so far
    double ips = 0.0;     // IPS estimate so far
};

struct policy_evaluation {
    std::string name;                          // to_string(kind), or "popularity"
    std::optional<bandits::policy_kind> kind;  // empty for the popularity baseline
    bandits::ope_estimate replay;  // mean reward on matched decisions (n = matches)
    bandits::ope_estimate ips, snips, doubly_robust;
    std::vector<reward_curve_point> curve;  // ~200 points over the stream
};

struct bandit_replay_report {
    std::size_t events = 0;          // ratings read
    std::size_t decisions = 0;       // logged decisions (once K items had been seen)
    double logged_reward = 0.0;      // mean reward of the uniform logging policy
    std::vector<policy_evaluation> policies;
};

// `progress(done, total)` is called now and then, if given.
bandit_replay_report run_bandit_replay(std::span<const events::event> ratings, const bandit_replay_options& options,
                                       const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace marquee::evaluation
