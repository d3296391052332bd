#include "app/direct_replay.h"

#include <prometheus/registry.h>

#include <stdexcept>
#include <string>

#include "core/snapshot_cell.h"
#include "state/store.h"
#include "stream/batch_applier.h"

namespace marquee::app {

replay_counts direct_replay(const config& c, const std::vector<events::catalog_item>& catalog,
                            const std::vector<events::event>& events) {
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
    replay_counts counts;
    const std::size_t batch_size = std::size_t(std::max(1, c.ingest.batch_max_messages));
    auto apply_all = [&](const auto& records, const std::string& topic, auto key_of, auto timestamp_of) {
        for (std::size_t start = 0; start < records.size(); start += batch_size) {
            const std::size_t end = std::min(records.size(), start + batch_size);
            payloads.clear();
            batch.clear();
            for (std::size_t i = start; i < end; ++i) payloads.push_back(events::encode_json(records[i]));
            for (std::size_t i = start; i < end; ++i)
                batch.push_back({.topic = topic, .partition = 0, .offset = std::int64_t(i), .key = key_of(records[i]),
                                 .payload = payloads[i - start], .timestamp_ms = timestamp_of(records[i])});
            auto r = applier.apply(batch);
            if (!r) throw std::runtime_error("replay: " + r.error().message);
            counts.catalog += r.value().catalog;
            counts.events += r.value().applied;
        }
    };
    apply_all(catalog, c.applier.items_topic, [](const events::catalog_item& i) { return std::string_view(i.item_id); },
              [](const events::catalog_item&) { return std::int64_t(0); });
    apply_all(events, "direct-replay", [](const events::event& e) { return std::string_view(e.user_id); },
              [](const events::event& e) { return e.ts_ms; });
    // The positions above are in no Kafka topic (the items topic's name is
    // borrowed to mark catalog records): forget them and the cluster, so the
    // next `run` starts from the group's offsets instead of skipping records.
    if (auto r = store->reset_offsets(""); !r) throw std::runtime_error("replay: " + r.error().message);
    return counts;
}

}  // namespace marquee::app
