#include "bandits/ope.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "core/rng.h"

namespace marquee::bandits {

namespace {

constexpr double undefined = std::numeric_limits<double>::quiet_NaN();

// What no sample can estimate is NaN, not a confident 0 +- 0.
void set_undefined(ope_estimate& e, bool value_too) {
    if (value_too) e.value = undefined;
    e.std_error = e.lower = e.upper = undefined;
}

// pi / mu; an action the target never takes weighs 0 whatever its logging
// probability (even a zero one, 0/0).
double weight(double target_prob, double propensity) { return target_prob == 0.0 ? 0.0 : target_prob / propensity; }

// Mean and standard error of per-sample terms, plus the interval.
template <class Term>
ope_estimate mean_of_terms(std::size_t n, Term term, double z) {
    ope_estimate e;
    e.n = n;
    if (n == 0) {
        set_undefined(e, true);
        return e;
    }
    // Welford: stable for heavy-tailed importance-weighted terms.
    double mean = 0.0, m2 = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double t = term(i), d = t - mean;
        mean += d / double(i + 1);
        m2 += d * (t - mean);
    }
    e.value = mean;
    if (n < 2) {
        set_undefined(e, false);  // one sample says nothing of the spread
        return e;
    }
    e.std_error = std::sqrt(m2 / double(n - 1) / double(n));
    e.lower = mean - z * e.std_error;
    e.upper = mean + z * e.std_error;
    return e;
}

template <class Sample>
double effective_size(std::span<const Sample> s) {
    double sw = 0.0, sw2 = 0.0;
    for (const auto& x : s) {
        const double w = weight(x.target_prob, x.propensity);
        sw += w;
        sw2 += w * w;
    }
    return sw2 > 0.0 ? sw * sw / sw2 : 0.0;
}

}  // namespace

ope_estimate ips(std::span<const ope_sample> s, double z) {
    auto e = mean_of_terms(s.size(), [&](std::size_t i) { return weight(s[i].target_prob, s[i].propensity) * s[i].reward; }, z);
    e.effective_sample_size = effective_size(s);
    return e;
}

ope_estimate snips(std::span<const ope_sample> s, double z) {
    ope_estimate e;
    e.n = s.size();
    double sw = 0.0, swr = 0.0;
    for (const auto& x : s) {
        const double w = weight(x.target_prob, x.propensity);
        sw += w;
        swr += w * x.reward;
    }
    if (!(sw > 0.0)) {
        // The target takes none of the logged actions: nothing to normalise.
        set_undefined(e, true);
        return e;
    }
    e.value = swr / sw;
    double num = 0.0;
    for (const auto& x : s) {
        const double w = weight(x.target_prob, x.propensity), d = x.reward - e.value;
        num += w * w * d * d;
    }
    e.std_error = std::sqrt(num) / sw;
    e.lower = e.value - z * e.std_error;
    e.upper = e.value + z * e.std_error;
    e.effective_sample_size = effective_size(s);
    return e;
}

ope_estimate doubly_robust(std::span<const dr_sample> s, double z) {
    auto e = mean_of_terms(
        s.size(),
        [&](std::size_t i) {
            return s[i].q_target + weight(s[i].target_prob, s[i].propensity) * (s[i].reward - s[i].q_logged);
        },
        z);
    e.effective_sample_size = effective_size(s);
    return e;
}

ope_estimate bootstrap(std::span<const ope_sample> s, ope_kind kind, int resamples, std::uint64_t seed,
                       double level) {
    auto estimate = [&](std::span<const ope_sample> x) { return kind == ope_kind::ips ? ips(x) : snips(x); };
    ope_estimate e = estimate(s);
    if (s.empty() || resamples < 2) return e;
    core::splitmix64 rng(seed);
    std::vector<ope_sample> draw(s.size());
    std::vector<double> values;
    values.reserve(static_cast<std::size_t>(resamples));
    for (int r = 0; r < resamples; ++r) {
        for (auto& d : draw) d = s[std::size_t(rng.below(s.size()))];
        // A resample SNIPS cannot normalise (no weight drawn) is left out,
        // not counted as a value of 0.
        if (const double v = estimate(draw).value; !std::isnan(v)) values.push_back(v);
    }
    if (values.size() < 2) {
        set_undefined(e, false);
        return e;
    }
    std::sort(values.begin(), values.end());
    double mean = 0.0, m2 = 0.0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double d = values[i] - mean;
        mean += d / double(i + 1);
        m2 += d * (values[i] - mean);
    }
    e.std_error = std::sqrt(m2 / double(values.size() - 1));
    auto quantile = [&](double q) {
        const auto at = std::size_t(std::clamp(q * double(values.size() - 1), 0.0, double(values.size() - 1)));
        return values[at];
    };
    e.lower = quantile((1.0 - level) / 2.0);
    e.upper = quantile((1.0 + level) / 2.0);
    return e;
}

}  // namespace marquee::bandits
