// The counters of served decisions that could not be recorded, shared by the
// recommendations route and the rank service. Internal to serve/.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace marquee::serve {

// Where recording failed: not stored (the request was answered 503), or
// stored but refused by the decisions topic's producer.
enum class decision_log_stage { store, log };

// Registering it again returns the same counter.
inline prometheus::Counter& decision_log_errors(prometheus::Registry& registry, decision_log_stage stage) {
    return prometheus::BuildCounter()
        .Name("marquee_decision_log_errors_total")
        .Help("Served decisions that could not be recorded: stage=store not stored (answered 503), "
              "stage=log stored but refused by the decisions topic's producer")
        .Register(registry)
        .Add({{"stage", stage == decision_log_stage::store ? "store" : "log"}});
}

}  // namespace marquee::serve
