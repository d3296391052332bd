// How often batch_applier publishes serving snapshots: never sooner than the
// configured interval, nor than publish_cost_ratio times the last publish
// took, so a large catalog cannot turn ingest into snapshot copying.
#include <gtest/gtest.h>

#include <chrono>

#include "stream/applier_rig.h"
#include "stream/stream_fixtures.h"

namespace marquee::stream {
namespace {

using namespace std::chrono_literals;

struct rig : applier_rig {
    explicit rig(int items) : applier_rig(32, {.publish_interval = 5ms}) {
        for (int i = 0; i < items; ++i) model.ensure_item("m" + std::to_string(i), 0);
    }

    void apply_one() { apply_json(R"({"type":"like","user_id":"x","item_id":"m1","ts":1000})"); }
    // Sum and count of marquee_snapshot_publish_seconds.
    std::pair<double, std::uint64_t> published() const {
        return testing::histogram_totals(registry, "marquee_snapshot_publish_seconds");
    }
};

TEST(snapshot_publish, a_small_model_publishes_at_the_configured_interval) {
    rig r(100);
    r.apply_one();
    ASSERT_EQ(r.published().second, 1u) << "the first batch publishes at once";
    EXPECT_NE(r.snapshots.load(), nullptr);
    r.apply_one();
    const auto due = r.applier.publish_due_in();
    ASSERT_TRUE(due);
    EXPECT_LE(*due, 5ms);
    EXPECT_EQ(r.published().second, 1u) << "the second batch waits for the interval";
}

TEST(snapshot_publish, a_slow_publish_stretches_the_interval_to_its_cost_ratio) {
    // 100k items x 32 floats: copying them (and their binary16 copy) takes a
    // few milliseconds here, so ratio x that is well past the 5 ms interval.
    rig r(100'000);
    const auto started = std::chrono::steady_clock::now();
    r.apply_one();
    const auto [took_s, count] = r.published();
    ASSERT_EQ(count, 1u);
    const auto took = std::chrono::duration<double>(took_s);
    const auto gap = std::max<std::chrono::duration<double>>(5ms, applier_options::publish_cost_ratio * took);
    r.apply_one();  // owes a snapshot
    const auto due = r.applier.publish_due_in();
    const auto since_start = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(due);
    // The next publish is due `gap` after the last one began, which was
    // after `started` and before now.
    EXPECT_GE(*due + since_start, gap) << "publish took " << took.count() * 1e3 << " ms";
    EXPECT_LE(*due, gap + 1ms) << "publish took " << took.count() * 1e3 << " ms";
}

}  // namespace
}  // namespace marquee::stream
