// The context feature map shared by every policy: what a (user, item, request)
// triple looks like to the bandit. Version it when the layout changes, since
// learned parameters and logged decisions are only meaningful per version.
// Stored models and decisions are told apart by feature_dim alone: a change
// that keeps the size (as 2 -> 3 did, a refinement of one feature) is read
// as current; one that changes a feature's meaning must change the size too.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace marquee::bandits {

inline constexpr int feature_dim = 11;
inline constexpr int feature_map_version = 3;  // 3: genre match over liked history only
using feature_vector = Eigen::Matrix<double, feature_dim, 1>;

struct candidate_signals {
    double affinity = 0.0;        // user . item embedding score
    double popularity = 0.0;      // item's decayed popularity / catalog max, in [0, 1]
    double age_days = 1e9;        // days since release or first appearance
    bool new_release = false;     // inside the configured new-release window
    // Share of the user's recent history that has a genre in common with
    // the item, in [0, 1] (0 without genres or history).
    double genre_match = 0.0;
};

struct request_signals {
    double user_events = 0.0;     // events the user has had applied
    bool device_tv = false;       // context.device == "tv"
    double hour_of_day = 0.0;     // request time, UTC hours in [0, 24)
};

// request_signals::hour_of_day of a Unix time in ms (UTC).
constexpr double hour_of_day(std::int64_t unix_ms) {
    constexpr std::int64_t day_ms = 86'400'000;
    return double(((unix_ms % day_ms) + day_ms) % day_ms) / 3'600'000.0;
}

// Layout (version 2):
// 0 bias | 1 affinity: user . item embedding, clamped to [-4,4] | 2 popularity
// 3 new-release flag | 4 recency exp(-age/30d) | 5 user activity log1p(n)/10
// 6 affinity x activity | 7 device is tv | 8 genre match
// 9, 10 time of day as sin, cos of 2 pi hour / 24 (so 23:00 is near 00:00)
// Version 1 was features 0-7.
// Feature 4, also the rank model's known recency: 1 at release, fading
// over months.
inline double recency(double age_days) { return std::exp(-std::max(age_days, 0.0) / 30.0); }

// The request's part of the features: computed once per request, not per
// candidate (a log and a sine/cosine each).
struct request_features {
    double activity = 0.0;
    double device_tv = 0.0;
    double hour_sin = 0.0, hour_cos = 1.0;
};

inline request_features make_request_features(const request_signals& r) {
    const double day_angle = r.hour_of_day * (2.0 * 3.14159265358979323846 / 24.0);
    return {std::log1p(std::max(r.user_events, 0.0)) / 10.0, r.device_tv ? 1.0 : 0.0, std::sin(day_angle),
            std::cos(day_angle)};
}

inline feature_vector make_features(const candidate_signals& c, const request_features& r) {
    // A NaN passes std::clamp; one would reach the slate's argmax and, once
    // rewarded, every entry of A^-1. No signal is the honest stand-in.
    const double affinity = std::isfinite(c.affinity) ? std::clamp(c.affinity, -4.0, 4.0) : 0.0;
    feature_vector x;
    x << 1.0, affinity, c.popularity, c.new_release ? 1.0 : 0.0, recency(c.age_days),
        r.activity, affinity * r.activity, r.device_tv, std::clamp(c.genre_match, 0.0, 1.0), r.hour_sin, r.hour_cos;
    return x;
}

inline feature_vector make_features(const candidate_signals& c, const request_signals& r) {
    return make_features(c, make_request_features(r));
}

}  // namespace marquee::bandits
