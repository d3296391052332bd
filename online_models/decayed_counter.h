// decayed_counter: an exponentially time-decayed count (half-life in ms),
// used for item popularity. Order-independent: adding an out-of-order event
// decays it to the counter's time instead of moving time backwards.
#pragma once

#include <cmath>
#include <cstdint>

namespace marquee::online_models {

struct decayed_counter {
    double value = 0.0;
    std::int64_t ts_ms = 0;  // time `value` refers to

    static double decay(std::int64_t dt_ms, double half_life_ms) {
        return std::exp2(-double(dt_ms) / half_life_ms);
    }

    void add(double weight, std::int64_t at_ms, double half_life_ms) {
        if (at_ms >= ts_ms) {
            value = value * decay(at_ms - ts_ms, half_life_ms) + weight;
            ts_ms = at_ms;
        } else {
            value += weight * decay(ts_ms - at_ms, half_life_ms);
        }
    }

    double at(std::int64_t now_ms, double half_life_ms) const {
        return now_ms <= ts_ms ? value : value * decay(now_ms - ts_ms, half_life_ms);
    }
};

}  // namespace marquee::online_models
