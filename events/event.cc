#include "events/event.h"

#include "core/json_writer.h"

namespace marquee::events {

std::string_view to_string(event_type t) { return event_type_names[static_cast<std::size_t>(t)]; }

std::optional<event_type> parse_event_type(std::string_view s) {
    for (std::size_t i = 0; i < event_type_names.size(); ++i)
        if (event_type_names[i] == s) return static_cast<event_type>(i);
    return std::nullopt;
}

std::string encode_json(const event& e) {
    std::string out;
    out.reserve(128);
    out += "{\"type\":";
    core::append_json_string(out, to_string(e.type));
    out += ",\"user_id\":";
    core::append_json_string(out, e.user_id);
    out += ",\"item_id\":";
    core::append_json_string(out, e.item_id);
    out += ",\"ts\":";
    core::append_json_number(out, e.ts_ms);
    if (e.value) {
        out += ",\"value\":";
        core::append_json_number_exact(out, *e.value);
    }
    if (!e.decision_id.empty()) {
        out += ",\"decision_id\":";
        core::append_json_string(out, e.decision_id);
    }
    if (!e.event_id.empty()) {
        out += ",\"event_id\":";
        core::append_json_string(out, e.event_id);
    }
    if (!e.device.empty()) {
        out += ",\"context\":{\"device\":";
        core::append_json_string(out, e.device);
        out += "}";
    }
    out += "}";
    return out;
}

}  // namespace marquee::events
