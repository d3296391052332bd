// exposure_floor: which new releases must be inserted into a slate, and in
// which slot, so that each gets at least N impressions per hour. Pure and
// deterministic: it ranks by the counters it is given, never by chance, so
// the inserted items have propensity 1 and are marked forced in the slate.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace marquee::bandits {

struct exposure_floor_options {
    // N: impressions per hour a new release should get; 0 disables. Default: 0.
    double min_impressions_per_hour = 0.0;
    // Most insertions into one slate. Default: 1.
    int max_inserts = 1;
    // 0-based slot of the first insertion (the top slots stay personal);
    // clamped to the last slot for short slates. Default: 2.
    int first_slot = 2;
    // Slots between consecutive insertions. Default: 3.
    int stride = 3;
};

struct new_release_exposure {
    std::uint32_t candidate = 0;        // index into the request's candidates
    double impressions_per_hour = 0.0;  // e.g. a decayed impression counter
};

struct forced_slot {
    std::uint32_t candidate = 0;
    int slot = 0;
};

// The new releases under the floor, most under-exposed first (ties: lower
// candidate index), placed at first_slot, first_slot + stride, ... < k.
// Duplicate candidates are inserted once.
std::vector<forced_slot> exposure_floor(std::span<const new_release_exposure> items, int k,
                                        const exposure_floor_options& options);

}  // namespace marquee::bandits
