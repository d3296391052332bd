// api: Marquee's HTTP routes as a pure request -> response function over the
// serving snapshot and the state store, so it is testable without sockets.
//   GET /v1/users/{user_id}/recommendations?k=10
//   GET /healthz  GET /readyz  GET /metrics
// Thread-safe: called concurrently by every I/O thread.
#pragma once

#include <functional>
#include <memory>

#include "core/message_sink.h"
#include "core/snapshot_cell.h"
#include "engine/model_snapshot.h"
#include "engine/recommender.h"
#include "serve/http_server.h"
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
    // Seed mixed into every decision's exploration seed. Default: 7.
    std::uint64_t exploration_seed = 7;
    engine::recommend_options recommend;
};

class api {
public:
    // `decisions` receives every served decision (may be null); `ready`
    // answers /readyz; `before_scrape` refreshes pull-style gauges.
    api(api_options options, core::snapshot_cell<engine::model_snapshot>& snapshots, state::store& store,
        core::message_sink* decisions, prometheus::Registry& registry, std::function<bool()> ready,
        std::function<void()> before_scrape = {});
    ~api();

    response handle(request&& req);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::serve
