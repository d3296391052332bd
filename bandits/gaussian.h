// standard_normal: N(0, 1) draws over core::splitmix64 by the Box-Muller
// transform, so posterior samples are reproducible on every platform (the
// algorithm of std::normal_distribution is implementation-defined).
#pragma once

#include <cmath>
#include <numbers>

#include "core/rng.h"

namespace marquee::bandits {

// Keeps Box-Muller's second value for the next call. Copy it to fork a stream.
class normal_source {
public:
    explicit normal_source(std::uint64_t seed) : rng_(seed) {}

    double operator()() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        // 1 - u is in (0, 1], so the logarithm is finite.
        const double u1 = 1.0 - rng_.uniform(), u2 = rng_.uniform();
        const double radius = std::sqrt(-2.0 * std::log(u1));
        const double angle = 2.0 * std::numbers::pi * u2;
        spare_ = radius * std::sin(angle);
        has_spare_ = true;
        return radius * std::cos(angle);
    }

private:
    core::splitmix64 rng_;
    double spare_ = 0.0;
    bool has_spare_ = false;
};

}  // namespace marquee::bandits
