// event_decoder: bytes from Kafka (or HTTP) -> validated event, or an error
// whose reason is one of decode_reasons. Not thread-safe: one per thread; it
// reuses its parser and buffers so steady-state decoding does not allocate
// beyond the event's own strings.
#pragma once

#include <array>
#include <memory>
#include <string_view>

#include "core/result.h"
#include "events/event.h"

namespace marquee::events {

// Longest id (user, item, decision, event) accepted by default: by the
// decoder and by the HTTP API, whose ids end up in the same state.
inline constexpr std::size_t default_max_id_bytes = 256;

struct decoder_options {
    // Payloads above this size are rejected unread. Default: 64 KiB.
    std::size_t max_event_bytes = 64 * 1024;
    // Longest accepted user/item/decision/event id. Default: 256.
    std::size_t max_id_bytes = default_max_id_bytes;
    // Latest accepted "ts", in ms after the time the event was received (the
    // fallback below): a producer clock in micro- or nanoseconds would
    // otherwise move the model's event clock years ahead, for good.
    // Default: 24 h.
    std::int64_t max_ts_ahead_ms = 24 * 3'600'000;
};

// Every reason an event can be rejected for (stable metric label values).
inline constexpr std::array<std::string_view, 7> decode_reasons = {
    "empty", "too_large", "malformed_json", "missing_field", "wrong_type", "invalid_value",
    "unknown_type"};

class event_decoder {
public:
    explicit event_decoder(decoder_options options = {});
    ~event_decoder();
    event_decoder(const event_decoder&) = delete;
    event_decoder& operator=(const event_decoder&) = delete;

    // `fallback_ts_ms`, when the event was received (e.g. the Kafka message
    // timestamp), is its time if it has no "ts" (negative: none, and such an
    // event is "missing_field"); if positive, it also bounds "ts"
    // (max_ts_ahead_ms).
    core::result<event> decode(std::string_view payload, std::int64_t fallback_ts_ms);

private:
    struct impl;
    decoder_options options_;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::events
