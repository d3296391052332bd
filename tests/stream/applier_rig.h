// A batch_applier over a real RocksDB in a temp dir, without Kafka (the
// applier is the Kafka-free half of ingest), and a way to feed it events.
#pragma once

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <span>
#include <string>

#include "core/snapshot_cell.h"
#include "state/store.h"
#include "stream/batch_applier.h"
#include "utils/test_utils.h"

namespace marquee::stream {

struct applier_rig {
    applier_rig(int dim, applier_options options)
        : model([dim] {
              engine::model_options o;
              o.mf.dim = dim;
              return o;
          }()),
          applier(*store, model, snapshots, nullptr, probe, std::move(options)) {}

    testing::temp_dir dir;
    std::unique_ptr<state::store> store = state::store::open({.path = dir.str()}).value();
    engine::model model;
    core::snapshot_cell<engine::model_snapshot> snapshots;
    prometheus::Registry registry;
    ingest_probe probe{registry};
    batch_applier applier;
    std::int64_t offset = 0;

    // Applies one event of user "x" as the next offset of marquee.events[0].
    void apply_json(const std::string& json) {
        const raw_message m{.topic = "marquee.events", .partition = 0, .offset = offset++, .key = "x", .payload = json};
        ASSERT_TRUE(applier.apply(std::span(&m, 1)));
    }
};

}  // namespace marquee::stream
