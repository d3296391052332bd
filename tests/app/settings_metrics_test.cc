// The exploration settings dashboards show are the ones in force.
#include "app/settings_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <map>
#include <string>

namespace marquee::app {
namespace {

std::map<std::string, double> exported(const config& c) {
    prometheus::Registry registry;
    export_bandit_settings(registry, c);
    std::map<std::string, double> out;
    for (const auto& family : registry.Collect())
        if (family.name == "marquee_bandit_setting")
            for (const auto& m : family.metric)
                for (const auto& l : m.label)
                    if (l.name == "setting") out[l.value] = m.gauge.value;
    return out;
}

TEST(settings_metrics, every_setting_is_exported_with_its_configured_value) {
    config c;
    c.model.bandit.alpha = 0.7;
    c.api.recommend.slate.epsilon = 0.03;
    c.api.recommend.slate.diversity.max_per_genre = 4;
    c.applier.rewards.window = std::chrono::milliseconds(90'000);
    c.applier.rewards.decision_ttl = std::chrono::milliseconds(600'000);
    const auto s = exported(c);
    EXPECT_EQ(s.size(), 10u);
    EXPECT_EQ(s.at("alpha"), 0.7);
    EXPECT_EQ(s.at("epsilon"), 0.03);
    EXPECT_EQ(s.at("max_per_genre"), 4.0);
    EXPECT_EQ(s.at("reward_window_seconds"), 90.0);
    EXPECT_EQ(s.at("decision_ttl_seconds"), 600.0);
}

TEST(settings_metrics, a_decision_ttl_below_the_window_is_exported_as_the_window_it_acts_as) {
    config c;
    c.applier.rewards.window = std::chrono::milliseconds(90'000);
    c.applier.rewards.decision_ttl = std::chrono::milliseconds(1'000);
    EXPECT_EQ(exported(c).at("decision_ttl_seconds"), 90.0);
}

}  // namespace
}  // namespace marquee::app
