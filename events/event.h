// event: one user interaction as published on `marquee.events`.
// Plain value type; see schemas/event.schema.json for the wire format.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace marquee::events {

// `reward`: a bandit reward for a served decision (value in [0, 1], decision_id
// required), e.g. from POST /v1/rewards; it teaches the policy, not the models.
enum class event_type : std::uint8_t { watch, like, dislike, rating, impression, click, skip, reward };
inline constexpr std::size_t event_type_count = 8;

inline constexpr std::array<std::string_view, event_type_count> event_type_names = {
    "watch", "like", "dislike", "rating", "impression", "click", "skip", "reward"};

std::string_view to_string(event_type t);
std::optional<event_type> parse_event_type(std::string_view s);

struct event {
    event_type type = event_type::watch;
    std::string user_id;
    std::string item_id;
    std::int64_t ts_ms = 0;            // event time, Unix milliseconds
    std::optional<double> value;       // watch fraction [0,1], rating [0,5] or reward [0,1]
    std::string decision_id;           // empty: not a response to a served decision
    std::string event_id;              // empty: producer gave none
    std::string device;                // context.device, empty if absent
};

// Serialises `e` as the canonical JSON accepted by event_decoder.
std::string encode_json(const event& e);

}  // namespace marquee::events
