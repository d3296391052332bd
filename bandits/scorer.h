// scorer: what the slate filler needs from any policy model, bound to one
// request's candidates: per-candidate posterior means and UCB bonuses, and
// (for Thompson sampling) one posterior draw's scores. One virtual call per
// slate or per draw, never per candidate; implementations are stack views.
#pragma once

#include <cstddef>
#include <span>

#include "bandits/gaussian.h"

namespace marquee::bandits {

class scorer {
public:
    // Number of bound candidates; every span below has this size.
    virtual std::size_t size() const = 0;
    // mean[i]: the exploit estimate of candidate i. bonus[i]: its UCB
    // exploration width, confidence multiplier (alpha) included.
    virtual void score(std::span<double> mean, std::span<double> bonus) const = 0;
    // Whether sample() draws from a posterior (required by Thompson sampling).
    virtual bool can_sample() const { return false; }
    // out[i]: candidate i's score under one joint posterior draw of the model.
    virtual void sample(std::span<double> out, normal_source& normal) const {}

protected:
    ~scorer() = default;
};

}  // namespace marquee::bandits
