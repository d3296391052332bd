#include "bandits/slate.h"

#include <algorithm>

#include "core/rng.h"

namespace marquee::bandits {

std::vector<slot> choose_slate(const linucb_policy& policy, std::span<const feature_vector> candidates,
                               const slate_options& options, std::uint64_t seed) {
    const std::size_t n = candidates.size();
    const std::size_t k = std::min<std::size_t>(std::max(options.k, 0), n);
    std::vector<double> ucb(n), expected(n);
    for (std::size_t i = 0; i < n; ++i) {
        expected[i] = policy.expected_reward(candidates[i]);
        ucb[i] = expected[i] + policy.bonus(candidates[i]);
    }
    std::vector<std::uint32_t> remaining(n);
    for (std::size_t i = 0; i < n; ++i) remaining[i] = static_cast<std::uint32_t>(i);

    core::splitmix64 rng(seed);
    std::vector<slot> slate;
    slate.reserve(k);
    for (std::size_t s = 0; s < k; ++s) {
        // Ties go to the lower index, so the argmax is well defined.
        auto argmax_by = [&](const std::vector<double>& v) {
            return std::max_element(remaining.begin(), remaining.end(),
                                    [&](auto a, auto b) { return v[a] < v[b] || (v[a] == v[b] && a > b); });
        };
        auto best_ucb = argmax_by(ucb);
        auto best_exploit = argmax_by(expected);
        const double r = double(remaining.size());
        auto pick = best_ucb;
        if (options.epsilon > 0.0 && rng.uniform() < options.epsilon)
            pick = remaining.begin() + std::ptrdiff_t(rng.below(remaining.size()));
        const std::uint32_t c = *pick;
        slot chosen;
        chosen.candidate = c;
        chosen.score = ucb[c];
        chosen.expected = expected[c];
        chosen.propensity = (1.0 - options.epsilon) * (pick == best_ucb ? 1.0 : 0.0) + options.epsilon / r;
        // Strictly worse on the exploit estimate: ties (e.g. an untrained
        // model) are not exploration.
        chosen.explored = expected[c] < expected[*best_exploit];
        slate.push_back(chosen);
        remaining.erase(pick);
    }
    return slate;
}

}  // namespace marquee::bandits
