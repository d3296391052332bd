#include "bandits/exposure_floor.h"

#include <algorithm>

namespace marquee::bandits {

std::vector<forced_slot> exposure_floor(std::span<const new_release_exposure> items, int k,
                                        const exposure_floor_options& options) {
    std::vector<forced_slot> out;
    if (k <= 0 || options.max_inserts <= 0 || !(options.min_impressions_per_hour > 0.0)) return out;
    std::vector<new_release_exposure> under;
    for (const auto& e : items)
        if (e.impressions_per_hour < options.min_impressions_per_hour) under.push_back(e);
    std::sort(under.begin(), under.end(), [](const auto& a, const auto& b) {
        return a.impressions_per_hour < b.impressions_per_hour ||
               (a.impressions_per_hour == b.impressions_per_hour && a.candidate < b.candidate);
    });
    const int stride = std::max(options.stride, 1);
    int slot = std::clamp(options.first_slot, 0, k - 1);
    for (const auto& e : under) {
        if (int(out.size()) == options.max_inserts || slot >= k) break;
        const bool dup = std::any_of(out.begin(), out.end(), [&](const auto& f) { return f.candidate == e.candidate; });
        if (dup) continue;
        out.push_back({e.candidate, slot});
        slot += stride;
    }
    return out;
}

}  // namespace marquee::bandits
