#include "app/direct_replay.h"

#include <prometheus/registry.h>

#include <stdexcept>
#include <string>

#include "core/snapshot_cell.h"
#include "state/store.h"
#include "stream/batch_applier.h"

namespace marquee::app {

std::size_t direct_replay(const config& c, const std::vector<events::event>& events) {
    auto opened = state::store::open(c.state);
    if (!opened) throw std::runtime_error("opening " + c.state.path + ": " + opened.error().message);
    auto store = std::move(opened).value();
    engine::model model(c.model);
    if (auto loaded = store->load_model(model); !loaded) throw std::runtime_error(loaded.error().message);
    prometheus::Registry registry;
    stream::ingest_probe probe(registry);
    core::snapshot_cell<engine::model_snapshot> snapshots;
    stream::batch_applier applier(*store, model, snapshots, nullptr, probe, c.applier);

    // The wire form, so decoding is part of what is compared too.
    std::vector<std::string> payloads;
    std::vector<stream::raw_message> batch;
    std::size_t applied = 0;
    const std::size_t batch_size = std::size_t(std::max(1, c.ingest.batch_max_messages));
    for (std::size_t start = 0; start < events.size(); start += batch_size) {
        const std::size_t end = std::min(events.size(), start + batch_size);
        payloads.clear();
        batch.clear();
        for (std::size_t i = start; i < end; ++i) payloads.push_back(events::encode_json(events[i]));
        for (std::size_t i = start; i < end; ++i)
            batch.push_back({.topic = "direct-replay", .partition = 0, .offset = std::int64_t(i),
                             .key = events[i].user_id, .payload = payloads[i - start], .timestamp_ms = events[i].ts_ms});
        auto r = applier.apply(batch);
        if (!r) throw std::runtime_error("replay: " + r.error().message);
        applied += r.value().applied;
    }
    return applied;
}

}  // namespace marquee::app
