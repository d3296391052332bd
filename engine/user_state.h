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
    // recent_positive[i]: the latest response to recent[i] was positive (the
    // model learned it as a yes: like, click, watch, rating >= 2.5). Only
    // those items seed co-visitation candidates and the genre taste, so
    // "because you watched X" never cites what the user disliked. Missing
    // flags (records written before they existed) count as positive.
    std::vector<std::uint8_t> recent_positive;
    // Hashes of the user's latest producer event ids, newest last: a retried
    // event (same event_id) is applied once. Events are keyed by user, so a
    // user's retries land on one partition, in order, within this window.
    std::vector<std::uint64_t> event_ids;
    static constexpr std::size_t event_id_window = 64;

    // Records `id_hash`; false if it was already among the latest ids.
    bool remember_event(std::uint64_t id_hash) {
        if (std::find(event_ids.begin(), event_ids.end(), id_hash) != event_ids.end()) return false;
        if (event_ids.size() == event_id_window) event_ids.erase(event_ids.begin());
        event_ids.push_back(id_hash);
        return true;
    }

    // Appends `item` to the history with its response, or moves it to the
    // end if it is already there; then drops the oldest beyond `cap`.
    void remember_item(std::string_view item, bool positive, std::size_t cap) {
        recent_positive.resize(recent.size(), 1);
        auto it = std::find(recent.begin(), recent.end(), item);
        if (it != recent.end()) {
            recent_positive.erase(recent_positive.begin() + (it - recent.begin()));
            recent.erase(it);
        }
        recent.emplace_back(item);
        recent_positive.push_back(positive);
        if (recent.size() > cap) {
            recent.erase(recent.begin(), recent.end() - std::ptrdiff_t(cap));
            recent_positive.erase(recent_positive.begin(), recent_positive.end() - std::ptrdiff_t(cap));
        }
    }
    bool positive_at(std::size_t i) const { return i >= recent_positive.size() || recent_positive[i] != 0; }

    std::uint32_t count(events::event_type t) const { return counts[std::size_t(t)]; }
    bool has_seen(std::string_view item) const {
        return std::find(recent.begin(), recent.end(), item) != recent.end();
    }
};

}  // namespace marquee::engine
