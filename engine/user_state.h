// user_state: everything Marquee keeps per user (embedding, counters, recent
// history). A plain value; the state store persists it, the learner updates it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"

namespace marquee::engine {

struct user_state {
    std::vector<float> embedding;  // empty until the first model update
    std::array<std::uint32_t, events::event_type_count> counts{};
    std::uint64_t events = 0;
    std::int64_t last_ts_ms = 0;
    std::vector<std::string> recent;  // item ids, oldest first, capped

    std::uint32_t count(events::event_type t) const { return counts[std::size_t(t)]; }
    bool has_seen(std::string_view item) const {
        return std::find(recent.begin(), recent.end(), item) != recent.end();
    }
};

}  // namespace marquee::engine
