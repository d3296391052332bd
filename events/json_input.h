// json_input: what the event and catalog decoders share in reading a Kafka
// payload with simdjson: the size limit, the padded copy, id fields.
// Internal to events/.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
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
// needed) and viewed with its padding, zeroed so that nothing an earlier
// record left there can change how this one reads.
inline simdjson::padded_string_view padded(std::vector<char>& buffer, std::string_view payload) {
    if (buffer.size() < payload.size() + simdjson::SIMDJSON_PADDING)
        buffer.resize(payload.size() + simdjson::SIMDJSON_PADDING);
    const auto end = std::copy(payload.begin(), payload.end(), buffer.begin());
    std::fill(end, end + simdjson::SIMDJSON_PADDING, '\0');
    return simdjson::padded_string_view(buffer.data(), payload.size(), buffer.size());
}

// `s` without JSON whitespace (RFC 8259: space, tab, LF, CR) at either end.
inline std::string_view trim_json_whitespace(std::string_view s) {
    constexpr std::string_view ws = " \t\n\r";
    const auto first = s.find_first_not_of(ws);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(ws) - first + 1);
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

// An integer as JSON Schema's "integer" reads one: any number with a zero
// fraction, so 1700000000000.0 and 1.7e12 (a producer's float) count, if
// exact (within ±2^53). SUCCESS, or get_int64's error.
inline simdjson::error_code get_integer(od::value v, std::int64_t& out) {
    const auto err = v.get_int64().get(out);
    if (err != simdjson::INCORRECT_TYPE && err != simdjson::NUMBER_ERROR) return err;
    double d = 0.0;
    if (v.get_double().get(d) || !(std::abs(d) <= 9'007'199'254'740'992.0) || d != std::floor(d)) return err;
    out = std::int64_t(d);
    return simdjson::SUCCESS;
}

// The JSON number grammar (RFC 8259): -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
inline bool json_number(std::string_view s) {
    std::size_t i = 0;
    auto digits = [&] {
        const std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        return i > start;
    };
    if (i < s.size() && s[i] == '-') ++i;
    if (i < s.size() && s[i] == '0') ++i;
    else if (!digits()) return false;
    if (i < s.size() && s[i] == '.' && (++i, !digits())) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (!digits()) return false;
    }
    return i == s.size();
}

// How deep a value the decoders ignore may nest: walking it recurses, and a
// 64 KiB payload could otherwise nest 32k levels.
inline constexpr int max_ignored_depth = 64;

// simdjson On-Demand skips a value nobody reads by its brackets alone,
// without validating scalars (`tru`, `1.`, `"\q"` and even `[1 2]` pass), so
// the fields the decoders ignore are walked here: objects and arrays
// recursively, strings, booleans and null by their getters, numbers by the
// JSON grammar (simdjson's getters refuse valid literals beyond a double,
// e.g. 1e400). Only called for unknown fields, so known ones cost nothing.
inline core::result<void> well_formed(od::value v, std::string_view field, int depth = 0) {
    auto malformed = [&] { return fail("malformed_json", "field '" + std::string(field) + "' is not valid JSON"); };
    if (depth > max_ignored_depth)
        return fail("invalid_value", "field '" + std::string(field) + "' nests deeper than " +
                                         std::to_string(max_ignored_depth) + " levels");
    od::json_type type;
    if (v.type().get(type)) return malformed();
    switch (type) {
    case od::json_type::object: {
        od::object object;
        if (v.get_object().get(object)) return malformed();
        for (auto member : object) {
            od::field f;
            std::string_view key;
            if (std::move(member).get(f) || f.unescaped_key().get(key)) return malformed();
            if (auto r = well_formed(f.value(), field, depth + 1); !r) return r;
        }
        return core::success();
    }
    case od::json_type::array: {
        od::array array;
        if (v.get_array().get(array)) return malformed();
        for (auto element : array) {
            od::value e;
            if (element.get(e)) return malformed();
            if (auto r = well_formed(e, field, depth + 1); !r) return r;
        }
        return core::success();
    }
    case od::json_type::string: {
        std::string_view s;
        if (v.get_string().get(s)) return malformed();
        return core::success();
    }
    case od::json_type::number: {
        // The token runs to the next structural character: drop its spaces.
        std::string_view token = v.raw_json_token();
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                                  token.back() == '\r'))
            token.remove_suffix(1);
        if (!json_number(token)) return malformed();
        return core::success();
    }
    case od::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b)) return malformed();
        return core::success();
    }
    case od::json_type::null: {
        bool null = false;
        if (v.is_null().get(null) || !null) return malformed();
        return core::success();
    }
    }
    return malformed();
}

}  // namespace marquee::events::detail
