#include "engine/exposure_tracker.h"

#include <cmath>

namespace marquee::engine {

double exposure_tracker::impressions_per_hour(std::uint32_t row, std::int64_t now_ms) const {
    std::lock_guard lock(mutex_);
    if (row >= shown_.size()) return 0.0;
    // A steady rate r per ms leaves a decayed count of r * half_life / ln 2.
    const double per_ms = shown_[row].at(now_ms, half_life_ms_) * std::log(2.0) / half_life_ms_;
    return per_ms * 3600e3;
}

void exposure_tracker::record(std::span<const std::uint32_t> rows, std::int64_t now_ms) {
    if (rows.empty()) return;  // most lists: no lock taken on the serving path
    std::lock_guard lock(mutex_);
    for (auto row : rows) {
        if (row >= shown_.size()) shown_.resize(std::size_t(row) + 1);
        shown_[row].add(1.0, now_ms, half_life_ms_);
    }
}

}  // namespace marquee::engine
