// exposure_tracker: how often this process has shown each item lately, as
// impressions per hour (exponentially decayed), so the exposure floor can
// find under-exposed new releases. Thread-safe. In memory only: a restart
// starts from zero, which errs towards showing new releases more.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "online_models/decayed_counter.h"

namespace marquee::engine {

class exposure_tracker {
public:
    // Impressions decay with this half-life; the rate is the decayed count
    // over its mean lifetime. Default: 1 hour.
    explicit exposure_tracker(double half_life_hours = 1.0) : half_life_ms_(half_life_hours * 3600e3) {}

    // Impressions per hour of item `row` around `now_ms` (0 if never shown).
    double impressions_per_hour(std::uint32_t row, std::int64_t now_ms) const;
    // Records one impression of each row at `now_ms`.
    void record(std::span<const std::uint32_t> rows, std::int64_t now_ms);

private:
    double half_life_ms_;
    mutable std::mutex mutex_;
    std::vector<online_models::decayed_counter> shown_;  // by item row
};

}  // namespace marquee::engine
