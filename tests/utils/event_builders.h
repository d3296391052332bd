// Event builders for tests: one place that knows how to spell an event.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "events/event.h"

namespace marquee::testing {

inline events::event make_event(events::event_type type, std::string user, std::string item, std::int64_t ts,
                                std::optional<double> value = std::nullopt) {
    events::event e;
    e.type = type;
    e.user_id = std::move(user);
    e.item_id = std::move(item);
    e.ts_ms = ts;
    e.value = value;
    return e;
}

inline events::event like(std::string user, std::string item, std::int64_t ts) {
    return make_event(events::event_type::like, std::move(user), std::move(item), ts);
}

}  // namespace marquee::testing
