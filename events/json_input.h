// json_input: what the event and catalog decoders share in reading a Kafka
// payload with simdjson: the size limit, the padded copy, id fields.
// Internal to events/.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace marquee::events::detail {

namespace od = simdjson::ondemand;

inline core::error fail(std::string_view reason, std::string message) {
    return core::error{reason, std::move(message)};
}

inline core::result<void> within_size_limit(std::string_view payload, std::size_t max_bytes) {
    if (payload.size() <= max_bytes) return core::success();
    return fail("too_large", "payload of " + std::to_string(payload.size()) + " bytes exceeds the limit of " +
                                 std::to_string(max_bytes));
}

// Kafka hands us unpadded buffers and simdjson reads up to SIMDJSON_PADDING
// bytes past the end: the payload is copied into `buffer` (reused, grown as
// needed) and viewed with its padding.
inline simdjson::padded_string_view padded(std::vector<char>& buffer, std::string_view payload) {
    if (buffer.size() < payload.size() + simdjson::SIMDJSON_PADDING)
        buffer.resize(payload.size() + simdjson::SIMDJSON_PADDING);
    std::copy(payload.begin(), payload.end(), buffer.begin());
    return simdjson::padded_string_view(buffer.data(), payload.size(), buffer.size());
}

// An id field: a non-empty string of at most `max_bytes`.
inline core::result<void> read_id(od::value v, std::string_view field, std::size_t max_bytes, std::string& out) {
    std::string_view s;
    if (auto err = v.get_string().get(s))
        return fail(err == simdjson::INCORRECT_TYPE ? "wrong_type" : "malformed_json",
                    std::string(field) + " must be a string");
    if (s.empty()) return fail("invalid_value", std::string(field) + " must not be empty");
    if (s.size() > max_bytes)
        return fail("invalid_value", std::string(field) + " is longer than " + std::to_string(max_bytes) + " bytes");
    out.assign(s);
    return core::success();
}

}  // namespace marquee::events::detail
