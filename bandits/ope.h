// ope: off-policy estimators of a target policy's mean reward from logged
// decisions: IPS, self-normalised IPS, doubly robust, each with a normal-
// approximation confidence interval from its per-sample terms (and a seeded
// percentile bootstrap), and the replay estimator (Li et al. 2011) for logs
// of a uniform-random policy. Pure functions over spans; no I/O.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

namespace marquee::bandits {

// One logged decision as seen by a target policy pi.
struct ope_sample {
    double reward = 0.0;
    double propensity = 1.0;   // mu(a | x): logging probability of the logged action, > 0
    double target_prob = 0.0;  // pi(a | x): target probability of the same action
};

// A logged decision plus a reward model's predictions, for doubly robust.
struct dr_sample {
    double reward = 0.0;
    double propensity = 1.0;
    double target_prob = 0.0;
    double q_logged = 0.0;  // q(x, a) for the logged action
    double q_target = 0.0;  // sum_a pi(a | x) q(x, a): the direct-method term
};

// Undefined parts are NaN, never a confident 0: value with no samples (or,
// for SNIPS, no weight: the target takes none of the logged actions); the
// interval and std_error with fewer than two.
struct ope_estimate {
    double value = 0.0;
    double std_error = 0.0;
    double lower = 0.0;  // value -/+ z * std_error (or bootstrap percentiles)
    double upper = 0.0;
    std::size_t n = 0;
    // (sum w)^2 / sum w^2 of the importance weights w = pi / mu: how many
    // on-policy samples the log is worth. n for the replay estimator's matches.
    double effective_sample_size = 0.0;
};

// Inverse propensity scoring: mean of w r. Unbiased when mu > 0 wherever
// pi > 0; se = sd(w r) / sqrt(n).
ope_estimate ips(std::span<const ope_sample> samples, double z = 1.96);

// Self-normalised IPS: sum w r / sum w. Biased O(1/n) but bounded by the
// reward range and usually far lower variance; se by the delta method,
// sqrt(sum w^2 (r - V)^2) / sum w.
ope_estimate snips(std::span<const ope_sample> samples, double z = 1.96);

// Doubly robust (Dudik et al. 2011): mean of q_target + w (r - q_logged).
// Unbiased if either the propensities or the reward model are right.
ope_estimate doubly_robust(std::span<const dr_sample> samples, double z = 1.96);

// A dr_sample from a logged decision, the target distribution over the
// actions in that context, and a reward model q(action) for that context.
template <class RewardModel>
    requires std::invocable<RewardModel&, std::uint32_t>
dr_sample make_dr_sample(std::uint32_t action, double reward, double propensity, std::span<const double> target,
                         RewardModel&& q) {
    dr_sample s;
    s.reward = reward;
    s.propensity = propensity;
    s.target_prob = target[action];
    s.q_logged = q(action);
    for (std::uint32_t a = 0; a < target.size(); ++a)
        if (target[a] != 0.0) s.q_target += target[a] * q(a);
    return s;
}

enum class ope_kind { ips, snips };

// Percentile bootstrap of ips or snips: `resamples` resamples with
// replacement, seeded; lower/upper are the (1 -/+ level) / 2 quantiles,
// std_error the resamples' standard deviation, value the full-sample estimate.
ope_estimate bootstrap(std::span<const ope_sample> samples, ope_kind kind, int resamples, std::uint64_t seed,
                       double level = 0.95);

// Replay (Li et al. 2011): walk a log of uniformly random decisions; where
// the target policy picks the logged action, count the reward and let the
// policy learn from it; ignore the rest. Unbiased for the policy's per-step
// reward when the log is uniform over the candidate actions; about 1/K of a
// K-action log is used.
struct replay_event {
    std::uint32_t logged_action = 0;
    double reward = 0.0;
};

// Policy: choose(i) -> action for event i's context (the caller's closure
// maps i to the context); learn(i, reward) on each match.
template <class Policy>
concept replay_policy = requires(Policy& p, std::size_t i, double r) {
    { p.choose(i) } -> std::convertible_to<std::uint32_t>;
    p.learn(i, r);
};

template <replay_policy Policy>
ope_estimate replay(std::span<const replay_event> events, Policy& policy, double z = 1.96) {
    double sum = 0.0, sum_sq = 0.0;
    std::size_t matched = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (std::uint32_t(policy.choose(i)) != events[i].logged_action) continue;
        const double r = events[i].reward;
        sum += r;
        sum_sq += r * r;
        ++matched;
        policy.learn(i, r);
    }
    ope_estimate e;
    e.n = matched;
    e.effective_sample_size = double(matched);
    const double m = double(matched);
    e.value = matched > 0 ? sum / m : std::numeric_limits<double>::quiet_NaN();
    const double var = matched > 1 ? std::max(0.0, (sum_sq - m * e.value * e.value) / (m - 1.0))
                                   : std::numeric_limits<double>::quiet_NaN();
    e.std_error = std::sqrt(var / m);
    e.lower = e.value - z * e.std_error;
    e.upper = e.value + z * e.std_error;
    return e;
}

}  // namespace marquee::bandits
