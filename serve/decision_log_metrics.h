// The counter of served decisions that could not be recorded, shared by the
// recommendations route and the rank service. Internal to serve/.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace marquee::serve {

// One series; registering it again returns the same counter.
inline prometheus::Counter& decision_log_errors(prometheus::Registry& registry) {
    return prometheus::BuildCounter()
        .Name("marquee_decision_log_errors_total")
        .Help("Served decisions that could not be recorded (store or topic)")
        .Register(registry)
        .Add({});
}

}  // namespace marquee::serve
