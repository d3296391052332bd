// runtime_metrics: gauges refreshed at every /metrics scrape from sources
// that have no push path: RocksDB health and the process itself (the
// standard process_* metrics). Thread-safe: refresh() may run on any thread.
#pragma once

#include <memory>

#include "state/store.h"

namespace prometheus {
class Registry;
}

namespace marquee::app {

class runtime_metrics {
public:
    runtime_metrics(prometheus::Registry& registry, const state::store& store);
    ~runtime_metrics();
    void refresh();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::app
