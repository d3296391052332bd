// settings_metrics: the bandit's exploration settings as a gauge family
// (marquee_bandit_setting{setting}), so dashboards can show which knobs a
// reward or exposure curve was measured under. Set once at start.
#pragma once

#include "app/config.h"

namespace prometheus {
class Registry;
}

namespace marquee::app {

void export_bandit_settings(prometheus::Registry& registry, const config& c);

}  // namespace marquee::app
