// policy_kind: how a slate filler turns a model's scores into a choice. The
// same model (any scorer) can be served by each kind, e.g. a uniform-random
// logging policy over the production LinUCB model for unbiased replay data.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace marquee::bandits {

enum class policy_kind : std::uint8_t {
    ucb,             // argmax of mean + bonus; exact propensity (with epsilon mixing)
    thompson,        // argmax of one posterior draw per slot; propensity estimated by resampling
    greedy,          // argmax of the mean; propensity 1 (epsilon is ignored)
    epsilon_greedy,  // greedy, but a uniform pick with probability epsilon; exact propensity
    uniform,         // uniform over the eligible candidates; propensity 1 / eligible
};

constexpr std::string_view to_string(policy_kind k) {
    switch (k) {
    case policy_kind::ucb: return "linucb";
    case policy_kind::thompson: return "thompson";
    case policy_kind::greedy: return "greedy";
    case policy_kind::epsilon_greedy: return "epsilon_greedy";
    case policy_kind::uniform: return "uniform";
    }
    return "unknown";
}

// Every kind, in declaration order (for metric labels and name lists).
inline constexpr std::array<policy_kind, 5> all_policy_kinds = {
    policy_kind::ucb, policy_kind::thompson, policy_kind::greedy, policy_kind::epsilon_greedy, policy_kind::uniform};

// "linucb, thompson, greedy, epsilon_greedy, uniform": for error messages.
inline std::string policy_kind_names() {
    std::string out;
    for (auto k : all_policy_kinds) {
        if (!out.empty()) out += ", ";
        out += to_string(k);
    }
    return out;
}

constexpr std::optional<policy_kind> parse_policy_kind(std::string_view name) {
    for (auto k : all_policy_kinds)
        if (to_string(k) == name) return k;
    return std::nullopt;
}

}  // namespace marquee::bandits
