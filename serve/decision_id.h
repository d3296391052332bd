// decision_id: the decision ids serving makes (core/decision_id.h) and the
// wall clock used to stamp decisions. Internal to serve/.
#pragma once

#include "core/decision_id.h"
#include "core/wall_clock.h"

namespace marquee::serve {

using core::new_decision_id;
using core::other_instance;
using core::wall_clock_ms;

}  // namespace marquee::serve
