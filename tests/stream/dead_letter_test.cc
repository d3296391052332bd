// The dead-letter path against librdkafka's in-process broker: a batch's
// offsets pass its invalid records only once their copies are delivered,
// and a copy too large to produce again is shortened, never dropped.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "app/engine_host.h"
#include "state/store.h"
#include "stream/dead_letter_producer.h"
#include "stream/embedded_broker.h"
#include "stream/kafka_producer.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

namespace marquee {
namespace {

using namespace std::chrono_literals;

class dead_letters : public ::testing::Test {
protected:
    void SetUp() override {
        spdlog::set_level(spdlog::level::off);
        testing::create_engine_topics(broker, 1);
    }
    stream::embedded_broker broker;
    testing::temp_dir dir;
};

TEST_F(dead_letters, offsets_pass_an_invalid_record_only_once_its_copy_is_delivered) {
    auto store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry registry;
    stream::kafka_options kafka;
    kafka.brokers = broker.bootstrap();
    stream::kafka_producer producer(kafka, registry);
    stream::dead_letter_producer dlq(producer, kafka.dlq_topic);
    stream::ingest_probe probe(registry);
    core::snapshot_cell<engine::model_snapshot> snapshots;

    const std::string good = R"({"type":"watch","user_id":"u","item_id":"m1","value":0.5,"ts":1000})";
    const std::string bad = R"({"type":"watch","user_id":"u"})";
    const stream::raw_message batch[] = {
        {.topic = "marquee.events", .partition = 0, .offset = 0, .key = "u", .payload = good},
        {.topic = "marquee.events", .partition = 0, .offset = 1, .key = "u", .payload = bad},
    };
    {
        // The broker refuses the copy (and librdkafka does not retry that).
        broker.refuse_next_produce_requests(1);
        engine::model model(engine::model_options{});
        stream::batch_applier applier(*store, model, snapshots, &dlq, probe);
        auto applied = applier.apply(batch);
        ASSERT_FALSE(applied) << "a batch whose dead letter was refused must not commit";
        EXPECT_EQ(applied.error().reason, "dead_letter");
        EXPECT_FALSE(store->offset("marquee.events", 0).value().has_value());
        auto user = store->get_user("u");
        ASSERT_TRUE(user);
        EXPECT_FALSE(user.value().has_value()) << "nor the good event beside it";
    }
    {
        // A restart reads the batch again; now the copy goes through.
        engine::model model(engine::model_options{});
        stream::batch_applier applier(*store, model, snapshots, &dlq, probe);
        ASSERT_TRUE(applier.apply(batch));
        EXPECT_EQ(store->offset("marquee.events", 0).value(), 2);
    }
    auto copies = testing::consume_all(broker.bootstrap(), kafka.dlq_topic, 1, 20s);
    ASSERT_EQ(copies.size(), 1u);
    EXPECT_EQ(copies[0].value, bad);
    EXPECT_EQ(copies[0].headers["marquee.source.offset"], "1");
}

TEST_F(dead_letters, a_record_too_large_to_forward_whole_keeps_its_head_and_says_how_large_it_was) {
    // Larger than the producer's message.max.bytes (the broker default), as
    // a compressed record the broker accepted can be once uncompressed.
    const std::string huge(1'200'000, '[');
    const std::string good = R"({"type":"watch","user_id":"u","item_id":"m1","value":0.5,"ts":1000})";
    testing::produce_raw(broker.bootstrap(), "marquee.events", {{"k", good}, {"k", huge}, {"k", good}});
    {
        app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
        ASSERT_TRUE(testing::wait_until([&] {
            return testing::metric_sum(host.registry(), "marquee_events_applied_total") >= 2 &&
                   testing::metric_sum(host.registry(), "marquee_events_dead_lettered_total") >= 1;
        }, 30s));
        EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_events_invalid_total", "reason", "too_large"), 1);
    }
    auto copies = testing::consume_all(broker.bootstrap(), "marquee.events.dlq", 1, 20s);
    ASSERT_EQ(copies.size(), 1u);
    EXPECT_EQ(copies[0].value, huge.substr(0, stream::dead_letter_producer::truncated_bytes));
    EXPECT_EQ(copies[0].headers["marquee.error.truncated_from"], "1200000");
    EXPECT_EQ(copies[0].headers["marquee.error.reason"], "too_large");
    EXPECT_EQ(copies[0].headers["marquee.source.offset"], "1");
}

}  // namespace
}  // namespace marquee
