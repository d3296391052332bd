#include "bandits/ope.h"

#include <algorithm>
#include <vector>

#include "core/rng.h"

namespace marquee::bandits {

namespace {

// Mean and standard error of per-sample terms, plus the interval.
template <class Term>
ope_estimate mean_of_terms(std::size_t n, Term term, double z) {
    ope_estimate e;
    e.n = n;
    if (n == 0) return e;
    // Welford: stable for heavy-tailed importance-weighted terms.
    double mean = 0.0, m2 = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double t = term(i), d = t - mean;
        mean += d / double(i + 1);
        m2 += d * (t - mean);
    }
    e.value = mean;
    e.std_error = n > 1 ? std::sqrt(m2 / double(n - 1) / double(n)) : 0.0;
    e.lower = mean - z * e.std_error;
    e.upper = mean + z * e.std_error;
    return e;
}

template <class Sample>
double effective_size(std::span<const Sample> s) {
    double sw = 0.0, sw2 = 0.0;
    for (const auto& x : s) {
        const double w = x.target_prob / x.propensity;
        sw += w;
        sw2 += w * w;
    }
    return sw2 > 0.0 ? sw * sw / sw2 : 0.0;
}

}  // namespace

ope_estimate ips(std::span<const ope_sample> s, double z) {
    auto e = mean_of_terms(s.size(), [&](std::size_t i) { return s[i].target_prob / s[i].propensity * s[i].reward; }, z);
    e.effective_sample_size = effective_size(s);
    return e;
}

ope_estimate snips(std::span<const ope_sample> s, double z) {
    ope_estimate e;
    e.n = s.size();
    double sw = 0.0, swr = 0.0;
    for (const auto& x : s) {
        const double w = x.target_prob / x.propensity;
        sw += w;
        swr += w * x.reward;
    }
    if (sw <= 0.0) return e;
    e.value = swr / sw;
    double num = 0.0;
    for (const auto& x : s) {
        const double w = x.target_prob / x.propensity, d = x.reward - e.value;
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
        [&](std::size_t i) { return s[i].q_target + s[i].target_prob / s[i].propensity * (s[i].reward - s[i].q_logged); },
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
    std::vector<double> values(static_cast<std::size_t>(resamples));
    for (auto& v : values) {
        for (auto& d : draw) d = s[std::size_t(rng.below(s.size()))];
        v = estimate(draw).value;
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
