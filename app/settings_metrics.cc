#include "app/settings_metrics.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <utility>

namespace marquee::app {

void export_bandit_settings(prometheus::Registry& registry, const config& c) {
    auto& family = prometheus::BuildGauge()
                       .Name("marquee_bandit_setting")
                       .Help("Exploration settings in force (config keys bandit.* and model.new_release_days)")
                       .Register(registry);
    const auto& slate = c.api.recommend.slate;
    const std::pair<const char*, double> settings[] = {
        {"alpha", c.model.bandit.alpha},
        {"epsilon", slate.epsilon},
        {"new_release_weight", slate.new_release.exploration_weight},
        {"new_release_days", c.model.new_release_days},
        {"exposure_floor_per_hour", c.api.recommend.exposure_floor.min_impressions_per_hour},
        {"max_per_genre", double(slate.diversity.max_per_genre)},
        {"mmr_lambda", slate.diversity.mmr_lambda},
        {"reward_window_seconds", double(c.applier.rewards.window.count()) / 1000.0},
        // The applier never closes a decision before its window: a shorter
        // TTL acts as the window.
        {"decision_ttl_seconds",
         double(std::max(c.applier.rewards.decision_ttl, c.applier.rewards.window).count()) / 1000.0},
        {"default_reward", c.applier.rewards.default_reward},
    };
    for (const auto& [name, value] : settings) family.Add({{"setting", name}}).Set(value);
}

}  // namespace marquee::app
