// ingest_loop against librdkafka's in-process broker and a real RocksDB,
// with the applier driven by the loop itself: what it does on a failed
// batch, and how fast it closes reward windows.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "core/wall_clock.h"
#include "state/store.h"
#include "stream/embedded_broker.h"
#include "stream/ingest_loop.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

namespace marquee {
namespace {

using namespace std::chrono_literals;

class ingest_loop : public ::testing::Test {
protected:
    void SetUp() override {
        spdlog::set_level(spdlog::level::off);
        testing::create_engine_topics(broker, 1);
        kafka.brokers = broker.bootstrap();
        kafka.consumer_defaults["session.timeout.ms"] = "6000";
    }

    stream::embedded_broker broker;
    stream::kafka_options kafka;
    testing::temp_dir dir;
    std::unique_ptr<state::store> store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry registry;
    stream::ingest_probe probe{registry};
    engine::model model{engine::model_options{}};
    core::snapshot_cell<engine::model_snapshot> snapshots;
};

TEST_F(ingest_loop, a_failed_batch_stops_ingest_and_is_never_applied_again) {
    stream::batch_applier applier(*store, model, snapshots, nullptr, probe);
    // The reward names a decision the applier does not hold, so it is
    // offered here; the first offer fails (as a storage error would), the
    // later ones would succeed.
    int offers = 0;
    applier.set_foreign_rewards([&](const events::event&, double) -> core::result<bool> {
        if (offers++ == 0) return core::error{"storage", "injected failure"};
        return false;
    });
    testing::produce_raw(broker.bootstrap(), "marquee.events",
                         {{"w", R"({"type":"watch","user_id":"w","item_id":"m1","value":0.5,"ts":1000})"},
                          {"w", R"({"type":"reward","user_id":"w","item_id":"m1","decision_id":"elsewhere","value":1,"ts":1001})"}});

    // librdkafka's close() revokes the partitions, and a revoke flushes the
    // batch in flight: it must not apply the failed one again (nor hang on
    // its messages while destroying the consumer).
    std::atomic<bool> stop{false};
    auto ran = stream::ingest_loop(kafka, stream::ingest_options{}, *store, applier, probe).run(stop);
    ASSERT_FALSE(ran);
    EXPECT_EQ(ran.error().message, "injected failure");
    EXPECT_EQ(offers, 1) << "the failed batch was applied again";
    EXPECT_FALSE(store->offset("marquee.events", 0).value().has_value());
    auto user = store->get_user("w");
    ASSERT_TRUE(user);
    EXPECT_FALSE(user.value().has_value()) << "nothing of the failed batch is stored";
}

TEST_F(ingest_loop, closes_every_due_reward_window_at_once_not_a_thousand_a_second) {
    // More decisions past their TTL than one closing pass takes, as serving
    // a few thousand lists a second leaves behind.
    const std::int64_t served = core::wall_clock_ms() - 2 * 3'600'000;
    constexpr int decisions = 5500;
    auto w = store->begin();
    for (int i = 0; i < decisions; ++i) {
        engine::pending_decision d;
        d.user_id = "u" + std::to_string(i);
        d.served_ms = served + i;
        d.items.push_back({"m1", bandits::feature_vector::Constant(0.1), 0.5, false});
        w.put_decision("d" + std::to_string(100'000 + i), d);
    }
    ASSERT_TRUE(store->commit(w));

    stream::batch_applier applier(*store, model, snapshots, nullptr, probe);
    std::atomic<bool> stop{false};
    stream::ingest_loop loop(kafka, stream::ingest_options{}, *store, applier, probe);
    std::thread stopper([&] {
        std::this_thread::sleep_for(4500ms);
        stop = true;
    });
    ASSERT_TRUE(loop.run(stop));
    stopper.join();
    // One pass a second would have closed 5000 by now.
    EXPECT_TRUE(store->decisions_served_before(served + decisions, decisions).value().empty());
    EXPECT_EQ(model.bandit().updates(), std::uint64_t(decisions)) << "one default reward per shown item";
}

}  // namespace
}  // namespace marquee
