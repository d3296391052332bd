// api: Marquee's HTTP routes as a pure request -> response function over the
// serving snapshot, the state store and the rank service, so it is testable
// without sockets (routes(): the table openapi.yaml must match):
//   GET  /v1/users/{user_id}/recommendations?k=&device=&policy=&explore=&exclude=&genres=
//   GET  /v1/users/{user_id}            GET /v1/items/{item_id}/similar?k=
//   POST /v1/rank   POST /v1/rewards   POST /v1/events
//   GET  /healthz   GET /readyz        GET /metrics
// Thread-safe: called concurrently by every I/O thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "core/message_sink.h"
#include "core/snapshot_cell.h"
#include "engine/model_snapshot.h"
#include "engine/recommender.h"
#include "events/event_decoder.h"
#include "serve/http_server.h"
#include "serve/rank_service.h"
#include "state/store.h"

namespace prometheus {
class Registry;
}

namespace marquee::serve {

struct api_options {
    // Largest k a client may ask for. Default: 100.
    int max_k = 100;
    // k when the request has none. Default: 10.
    int default_k = 10;
    // Most item ids in one `exclude=` (and genres in `genres=`). Default: 100.
    int max_exclude = 100;
    // Seed mixed into every decision's exploration seed. Default: 7.
    std::uint64_t exploration_seed = 7;
    engine::recommend_options recommend;
    // POST /v1/rank (used when the api builds its own rank_service).
    rank_options rank;
    // POST /v1/events validates as the ingest will (the engine copies its
    // decoder settings here), so what is accepted is never dead-lettered.
    events::decoder_options events;
    // How long POST /v1/events and recommendation rewards wait for the
    // brokers' acknowledgement before a 503 (the engine copies
    // topics.events_delivery_timeout_ms). Kept here, not only as the
    // producer's message.timeout.ms: librdkafka lets a request already in
    // flight to a broker that went away run to request.timeout.ms. Default: 10 s.
    std::chrono::milliseconds events_confirm_timeout{10'000};
};

// Where the api sends what it does not keep itself. Each may be null: no
// decision log; POST /v1/events and recommendation rewards answer 503; a
// rank_service of the api's own (over `store`, without a decision log).
struct api_links {
    core::message_sink* decisions = nullptr;
    core::message_sink* events = nullptr;
    rank_service* rank = nullptr;
};

// One served route, as openapi.yaml spells it. GET routes also answer HEAD.
struct route_info {
    std::string_view method;
    std::string_view path;
};

class api {
public:
    // `ready` answers /readyz; `before_scrape` refreshes pull-style gauges.
    api(api_options options, core::snapshot_cell<engine::model_snapshot>& snapshots, state::store& store,
        api_links links, prometheus::Registry& registry, std::function<bool()> ready,
        std::function<void()> before_scrape = {});
    ~api();

    // Recommendations complete once their decision is stored (see
    // decision_writer); every other route without awaiting anything.
    boost::asio::awaitable<response> handle(request req);
    // Counts a response the HTTP server made without handle() (see
    // own_response_observer) in marquee_http_requests_total, route "unmatched".
    void count_server_response(unsigned status);

    // Every route served, for documentation checks.
    static std::span<const route_info> routes();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::serve
