// POST /v1/events: one event exactly as on Kafka, validated by the ingest's
// own decoder and produced unchanged to the events topic (key = user id).
#include <spdlog/spdlog.h>

#include "core/json_writer.h"
#include "events/event_decoder.h"
#include "serve/api_internal.h"
#include "serve/decision_id.h"

namespace marquee::serve {

core::result<events::event> api::impl::decode_event(std::string_view payload) {
    std::unique_ptr<events::event_decoder> decoder;
    {
        std::lock_guard lock(decoders_mutex);
        if (!decoders.empty()) {
            decoder = std::move(decoders.back());
            decoders.pop_back();
        }
    }
    if (!decoder) decoder = std::make_unique<events::event_decoder>(options.events);
    auto e = decoder->decode(payload, wall_clock_ms());
    std::lock_guard lock(decoders_mutex);
    decoders.push_back(std::move(decoder));
    return e;
}

net::awaitable<response> api::impl::post_event(const request& req) {
    if (auto rejected = reject_non_json(req)) co_return std::move(*rejected);
    auto e = decode_event(req.body());
    if (!e)
        co_return json_error(http::status::bad_request, "invalid_event",
                             std::string(e.error().reason) + ": " + e.error().message, req.version());
    if (!links.events)
        co_return json_error(http::status::service_unavailable, "unavailable", "no events topic to send the event to",
                             req.version());
    // Answered once the event is in Kafka: a 202 is never lost.
    if (auto r = co_await send_confirmed(*links.events, e.value().user_id, req.body(), options.events_confirm_timeout); !r) {
        spdlog::warn("http: producing event: {}", r.error().message);
        co_return json_error(http::status::service_unavailable, "unavailable",
                             "the events topic did not confirm the event (" + r.error().message +
                                 "); it may still have been stored: send it again with an event_id, so that "
                                 "it is applied once",
                             req.version());
    }
    produced->Add({{"kind", "event"}}).Increment();
    std::string out = "{\"status\":\"accepted\",\"type\":";
    core::append_json_string(out, events::to_string(e.value().type));
    out += ",\"user_id\":";
    core::append_json_string(out, e.value().user_id);
    out += "}";
    co_return json_ok(std::move(out), req.version(), http::status::accepted);
}

}  // namespace marquee::serve
