#include "events/event_decoder.h"

#include <cmath>
#include <string>
#include <vector>

#include "events/json_input.h"

namespace marquee::events {

using detail::fail;
namespace od = detail::od;

struct event_decoder::impl {
    od::parser parser;
    std::vector<char> buffer;  // payload copy with simdjson's required padding
};

event_decoder::event_decoder(decoder_options options)
    : options_(options), impl_(std::make_unique<impl>()) {}

event_decoder::~event_decoder() = default;

core::result<event> event_decoder::decode(std::string_view payload, std::int64_t fallback_ts_ms) {
    if (payload.empty()) return fail("empty", "empty payload");
    if (auto r = detail::within_size_limit(payload, options_.max_event_bytes); !r) return r.error();

    od::document doc;
    if (impl_->parser.iterate(detail::padded(impl_->buffer, payload)).get(doc)) return fail("malformed_json", "not valid JSON");
    od::object obj;
    if (auto err = doc.get_object().get(obj))
        return fail(err == simdjson::INCORRECT_TYPE ? "wrong_type" : "malformed_json",
                    "event must be a JSON object");

    event e;
    bool has_type = false, has_user = false, has_item = false, has_ts = false;
    std::string_view type_name;

    auto read_id = [&](od::value v, std::string_view field, std::string& out) {
        return detail::read_id(v, field, options_.max_id_bytes, out);
    };

    for (auto field_result : obj) {
        od::field field;
        if (std::move(field_result).get(field)) return fail("malformed_json", "not valid JSON");
        std::string_view key;
        if (field.unescaped_key().get(key)) return fail("malformed_json", "bad object key");
        od::value v = field.value();

        if (key == "type") {
            if (auto err = v.get_string().get(type_name))
                return fail(err == simdjson::INCORRECT_TYPE ? "wrong_type" : "malformed_json",
                            "type must be a string");
            auto t = parse_event_type(type_name);
            if (!t) return fail("unknown_type", "unknown event type '" + std::string(type_name) + "'");
            e.type = *t;
            has_type = true;
        } else if (key == "user_id") {
            if (auto r = read_id(v, "user_id", e.user_id); !r) return r.error();
            has_user = true;
        } else if (key == "item_id") {
            if (auto r = read_id(v, "item_id", e.item_id); !r) return r.error();
            has_item = true;
        } else if (key == "decision_id") {
            if (auto r = read_id(v, "decision_id", e.decision_id); !r) return r.error();
        } else if (key == "event_id") {
            if (auto r = read_id(v, "event_id", e.event_id); !r) return r.error();
        } else if (key == "ts") {
            std::int64_t ts = 0;
            if (auto err = detail::get_integer(v, ts))
                return fail(err == simdjson::INCORRECT_TYPE || err == simdjson::NUMBER_ERROR
                                ? "wrong_type"
                                : "malformed_json",
                            "ts must be an integer (Unix milliseconds)");
            if (ts < 0) return fail("invalid_value", "ts must not be negative");
            e.ts_ms = ts;
            has_ts = true;
        } else if (key == "value") {
            double value = 0;
            if (auto err = v.get_double().get(value)) {
                // NaN/Infinity are not JSON, but producers in other languages
                // emit them; name the real problem rather than "wrong type".
                std::string_view token = v.raw_json_token();
                if (token.starts_with("NaN") || token.starts_with("Infinity") || token.starts_with("-Infinity") ||
                    err == simdjson::NUMBER_ERROR)
                    return fail("invalid_value", "value must be a finite number (NaN/Infinity are not allowed)");
                return fail(err == simdjson::INCORRECT_TYPE ? "wrong_type" : "malformed_json",
                            "value must be a finite number");
            }
            if (!std::isfinite(value)) return fail("invalid_value", "value must be finite");
            e.value = value;
        } else if (key == "context") {
            od::object ctx;
            if (auto err = v.get_object().get(ctx))
                return fail(err == simdjson::INCORRECT_TYPE ? "wrong_type" : "malformed_json",
                            "context must be an object");
            e.device.clear();  // a repeated "context" wins whole, as every other field's does
            for (auto cf_result : ctx) {
                od::field cf;
                if (std::move(cf_result).get(cf)) return fail("malformed_json", "not valid JSON");
                std::string_view ckey;
                if (cf.unescaped_key().get(ckey)) return fail("malformed_json", "bad object key");
                if (ckey == "device") {
                    if (auto r = read_id(cf.value(), "context.device", e.device); !r) return r.error();
                } else if (auto r = detail::well_formed(cf.value(), "context"); !r) {
                    // Other context keys are accepted for forward
                    // compatibility, if well-formed (the iterator would skip
                    // them unchecked).
                    return r.error();
                }
            }
        } else if (auto r = detail::well_formed(v, key); !r) {
            // Unknown top-level fields are ignored for forward compatibility,
            // but must be well-formed: the event is produced as sent.
            return r.error();
        }
    }
    // current_location() fails with OUT_OF_BOUNDS once every token is read.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return fail("malformed_json", "trailing content after the event object");

    if (!has_type) return fail("missing_field", "missing required field 'type'");
    if (!has_user) return fail("missing_field", "missing required field 'user_id'");
    if (!has_item) return fail("missing_field", "missing required field 'item_id'");
    if (!has_ts) {
        if (fallback_ts_ms < 0)
            return fail("missing_field", "missing field 'ts', and the record carries no timestamp to use instead");
        e.ts_ms = fallback_ts_ms;
    }
    if (fallback_ts_ms > 0 && e.ts_ms - fallback_ts_ms > options_.max_ts_ahead_ms)
        return fail("invalid_value", "ts is " + std::to_string((e.ts_ms - fallback_ts_ms) / 3'600'000) +
                                         " h after the time the event was received (milliseconds expected)");

    if (e.value) {
        double v = *e.value;
        if (e.type == event_type::watch && (v < 0.0 || v > 1.0))
            return fail("invalid_value", "watch value is a fraction in [0, 1]");
        if (e.type == event_type::rating && (v < 0.0 || v > 5.0))
            return fail("invalid_value", "rating value must be in [0, 5]");
        if (e.type == event_type::reward && (v < 0.0 || v > 1.0))
            return fail("invalid_value", "reward value must be in [0, 1]");
    } else if (e.type == event_type::rating || e.type == event_type::reward) {
        return fail("missing_field", std::string(to_string(e.type)) + " events need a 'value'");
    }
    if (e.type == event_type::reward && e.decision_id.empty())
        return fail("missing_field", "reward events need a 'decision_id'");
    return e;
}

}  // namespace marquee::events
