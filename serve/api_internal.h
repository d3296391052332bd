// api_internal: api::impl, shared by the route files (recommend_route.cc,
// item_route.cc, rank_route.cc, events_route.cc) and the dispatcher (api.cc).
// Internal to serve/.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/value.hpp>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/exposure_tracker.h"
#include "engine/recommender.h"
#include "events/event_decoder.h"
#include "serve/api.h"
#include "serve/decision_writer.h"
#include "serve/target.h"

namespace marquee::serve {

namespace http = boost::beast::http;
namespace net = boost::asio;

response json_ok(std::string body, unsigned version, http::status status = http::status::ok);
// 503 "storage": the state store failed a read or write; the client may retry.
response storage_unavailable(const request& req);

// Longest id a route accepts (user, item, candidate, decision, feature name):
// the event decoder's, since the ids end up in the same state.
inline constexpr std::size_t max_id_bytes = events::default_max_id_bytes;

// 415 for a declared Content-Type other than application/json (none is fine).
std::optional<response> reject_non_json(const request& req);
// A request body as a JSON object, or the 4xx to answer instead: 415 for a
// declared non-JSON content type, 400 for an empty, malformed or non-object body.
std::variant<boost::json::object, response> json_body(const request& req);

// Sends through `sink` and resumes, on the awaiting coroutine's executor,
// once the sink reports the message durably stored or lost, or `timeout`
// has passed without either ("timeout": it may still be stored).
inline net::awaitable<core::result<void>> send_confirmed(core::message_sink& sink, std::string_view key,
                                                          std::string_view value, std::chrono::milliseconds timeout) {
    co_return co_await net::async_initiate<decltype(net::use_awaitable), void(core::result<void>)>(
        [&sink, key, value, timeout](auto handler) {
            using handler_type = decltype(handler);
            // Whichever comes first, the report or the deadline, resumes the
            // request; both run on one strand, so the other is a no-op.
            struct waiting {
                handler_type resume;
                net::steady_timer deadline;
                bool done = false;
                waiting(handler_type h, std::chrono::milliseconds t)
                    : resume(std::move(h)), deadline(net::make_strand(net::get_associated_executor(resume)), t) {}
                void finish(core::result<void> r) {
                    if (std::exchange(done, true)) return;
                    deadline.cancel();
                    auto executor = net::get_associated_executor(resume);
                    net::post(executor, [h = std::move(resume), r = std::move(r)]() mutable { h(std::move(r)); });
                }
            };
            auto w = std::make_shared<waiting>(std::move(handler), timeout);
            w->deadline.async_wait([w, timeout](boost::system::error_code ec) {
                if (!ec)
                    w->finish(core::error{"timeout", "not acknowledged within " + std::to_string(timeout.count()) +
                                                         " ms (topics.events_delivery_timeout_ms)"});
            });
            sink.send_confirmed(key, value, [w](core::result<void> delivered) {
                net::post(w->deadline.get_executor(),
                          [w, delivered = std::move(delivered)]() mutable { w->finish(std::move(delivered)); });
            });
        },
        net::use_awaitable);
}

// The series arrays below are indexed by policy_kind's value.
static_assert([] {
    for (std::size_t i = 0; i < bandits::all_policy_kinds.size(); ++i)
        if (std::size_t(bandits::all_policy_kinds[i]) != i) return false;
    return true;
}());

struct api::impl {
    api_options options;
    core::snapshot_cell<engine::model_snapshot>& snapshots;
    state::store& store;
    api_links links;
    prometheus::Registry& registry;
    std::function<bool()> ready;
    std::function<void()> before_scrape;
    std::unique_ptr<rank_service> own_rank;  // when links.rank is null
    rank_service* ranker = nullptr;
    engine::exposure_tracker exposure;

    prometheus::Family<prometheus::Counter>* requests;
    prometheus::Family<prometheus::Counter>* produced;

    // The series a served list touches, resolved once: Family::Add builds and
    // hashes a label map per call, and a list of k items made k + 3 calls.
    struct route_series {
        std::string_view route;
        prometheus::Histogram* latency;
        prometheus::Counter* ok;  // code="200"
    };
    std::vector<route_series> by_route;  // every route label, then "unmatched"
    using by_explored = std::array<prometheus::Counter*, 2>;
    using by_source = std::array<by_explored, engine::candidate_sources.size()>;
    std::array<by_source, bandits::all_policy_kinds.size()> items_shown{};
    std::array<prometheus::Counter*, bandits::all_policy_kinds.size()> served_lists{};
    std::array<std::array<prometheus::Counter*, 2>, bandits::all_policy_kinds.size()> new_releases_shown{};
    // Last, so it is destroyed (drained) first.
    decision_writer writer;

    impl(api_options o, core::snapshot_cell<engine::model_snapshot>& s, state::store& st, api_links l,
         prometheus::Registry& r, std::function<bool()> rd);

    const route_series& series_for(std::string_view route) const;
    // ?k= (options.default_k when absent), or the 400 to answer when it is
    // not an integer from 1 to options.max_k.
    std::variant<int, response> query_k(const request& req, const target& t) const;
    boost::asio::awaitable<response> route(const request& req, const target& t, std::string_view& route_label);

    // recommend_route.cc
    boost::asio::awaitable<response> recommendations(const request& req, const target& t);
    response user_summary(const request& req, const target& t);
    // item_route.cc
    response similar(const request& req, const target& t);
    // rank_route.cc
    response rank(const request& req);
    boost::asio::awaitable<response> rewards(const request& req);
    // events_route.cc
    boost::asio::awaitable<response> post_event(const request& req);
    // What the ingest will make of `payload`, received now: an event the API
    // produces must decode, or it would be answered 202 and dead-lettered.
    core::result<events::event> decode_event(std::string_view payload);
    // Decoders for decode_event (not thread-safe, reused: they keep their
    // buffers), built with options.events.
    std::mutex decoders_mutex;
    std::vector<std::unique_ptr<events::event_decoder>> decoders;
};

}  // namespace marquee::serve
