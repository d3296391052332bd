// kafka_producer's delivery reports: a caller that asked to hear about a
// message hears exactly once whether Kafka has it, against the embedded
// broker, a broker that refuses it, and no broker at all.
#include "stream/kafka_producer.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>

#include "stream/embedded_broker.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

namespace marquee::stream {
namespace {

using namespace std::chrono_literals;

// What one delivery callback reported, and how often it was called.
struct report {
    std::mutex mutex;
    std::optional<core::result<void>> outcome;
    std::atomic<int> calls{0};

    std::function<void(core::result<void>)> callback() {
        return [this](core::result<void> r) {
            std::lock_guard lock(mutex);
            outcome = std::move(r);
            ++calls;
        };
    }
    bool arrived() {
        std::lock_guard lock(mutex);
        return outcome.has_value();
    }
};

kafka_options options_for(const std::string& bootstrap) {
    kafka_options o;
    o.brokers = bootstrap;
    return o;
}

TEST(kafka_producer, a_message_is_reported_delivered_once_the_broker_has_it) {
    embedded_broker broker;
    broker.create_topic("t", 1);
    prometheus::Registry registry;
    report delivered;
    {
        kafka_producer producer(options_for(broker.bootstrap()), registry);
        producer.produce("t", "k", "v1", delivered.callback());
        ASSERT_TRUE(testing::wait_until([&] { return delivered.arrived(); }, 10s));
        EXPECT_TRUE(delivered.outcome->has_value());
        auto on_topic = testing::consume_all(broker.bootstrap(), "t", 1, 10s);
        ASSERT_EQ(on_topic.size(), 1u);
        EXPECT_EQ(on_topic[0].value, "v1");
    }
    EXPECT_EQ(delivered.calls.load(), 1);
}

TEST(kafka_producer, a_refused_message_is_reported_not_delivered) {
    embedded_broker broker;
    broker.create_topic("t", 1);
    prometheus::Registry registry;
    report refused, next;
    {
        kafka_producer producer(options_for(broker.bootstrap()), registry);
        broker.refuse_next_produce_requests(1);
        producer.produce("t", "k", "v1", refused.callback());
        ASSERT_TRUE(testing::wait_until([&] { return refused.arrived(); }, 10s));
        ASSERT_FALSE(refused.outcome->has_value());
        EXPECT_EQ(refused.outcome->error().reason, "not_delivered");
        EXPECT_EQ(producer.failed_deliveries("t"), 1u);
        producer.produce("t", "k", "v2", next.callback());
        ASSERT_TRUE(testing::wait_until([&] { return next.arrived(); }, 10s));
        EXPECT_TRUE(next.outcome->has_value());
    }
    EXPECT_EQ(refused.calls.load(), 1);
    EXPECT_EQ(next.calls.load(), 1);
}

TEST(kafka_producer, a_message_not_taken_is_reported_at_once) {
    embedded_broker broker;
    prometheus::Registry registry;
    report too_large;
    kafka_producer producer(options_for(broker.bootstrap()), registry);
    producer.produce("t", "k", std::string(2u << 20, 'x'), too_large.callback());
    ASSERT_TRUE(too_large.arrived()) << "reported before produce() returned";
    ASSERT_FALSE(too_large.outcome->has_value());
    EXPECT_EQ(too_large.outcome->error().reason, "too_large");
}

// Kafka's Java client's murmur2 (Utils.murmur2).
std::uint32_t java_murmur2(std::string_view key) {
    constexpr std::uint32_t m = 0x5bd1e995;
    const auto n = std::uint32_t(key.size());
    std::uint32_t h = 0x9747b28c ^ n;
    const auto byte = [&](std::size_t i) { return std::uint32_t(std::uint8_t(key[i])); };
    for (std::size_t i = 0; i + 4 <= n; i += 4) {
        std::uint32_t k = byte(i) | byte(i + 1) << 8 | byte(i + 2) << 16 | byte(i + 3) << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    const std::size_t tail = n & ~3u;
    switch (n % 4) {
        case 3: h ^= byte(tail + 2) << 16; [[fallthrough]];
        case 2: h ^= byte(tail + 1) << 8; [[fallthrough]];
        case 1: h ^= byte(tail); h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}
// Its default partitioner: the hash, sign bit cleared, modulo the count.
std::int32_t java_partition(std::string_view key, std::int32_t partitions) {
    return std::int32_t((java_murmur2(key) & 0x7fffffff) % std::uint32_t(partitions));
}

TEST(kafka_producer, the_reference_murmur2_is_kafkas) {
    // Kafka's own test vectors (UtilsTest.testMurmur2), signed in Java.
    EXPECT_EQ(std::int32_t(java_murmur2("21")), -973932308);
    EXPECT_EQ(std::int32_t(java_murmur2("foobar")), -790332482);
    EXPECT_EQ(std::int32_t(java_murmur2("a-little-bit-long-string")), -985981536);
    EXPECT_EQ(std::int32_t(java_murmur2("a-little-bit-longer-string")), -1486304829);
    EXPECT_EQ(std::int32_t(java_murmur2("abc")), 479470107);
}

TEST(kafka_producer, the_events_topic_keeps_the_users_topic_level_properties) {
    // The events topic has a handle of its own (for its delivery timeout);
    // a user's partitioner must still place its keys as on any other topic,
    // or a user's events would split across partitions (and group members).
    embedded_broker broker;
    broker.create_topic("marquee.events", 4);
    broker.create_topic("other", 4);
    prometheus::Registry registry;
    auto options = options_for(broker.bootstrap());
    options.properties["partitioner"] = "consistent";  // CRC32: not the default (Java's murmur2)
    {
        kafka_producer producer(options, registry);
        for (int n = 0; n < 20; ++n) {
            const std::string key = "user-" + std::to_string(n);
            producer.produce("marquee.events", key, key, [](core::result<void>) {});
            producer.produce("other", key, key, [](core::result<void>) {});
        }
        ASSERT_TRUE(producer.flush(10s));
    }
    std::map<std::string, std::int32_t> on_events, on_other;
    for (const auto& m : testing::consume_all(broker.bootstrap(), "marquee.events", 20, 20s))
        on_events[m.key] = m.partition;
    for (const auto& m : testing::consume_all(broker.bootstrap(), "other", 20, 20s)) on_other[m.key] = m.partition;
    ASSERT_EQ(on_events.size(), 20u);
    EXPECT_EQ(on_events, on_other);
    // And that placement is the one asked for, not the default on both.
    int as_java = 0;
    for (const auto& [key, partition] : on_events) as_java += partition == java_partition(key, 4);
    EXPECT_LT(as_java, 20);
}

TEST(kafka_producer, places_keys_as_java_clients_do_by_default) {
    // librdkafka's default (consistent_random, CRC32) put an event posted over
    // HTTP in another partition, and group member, than the same user's
    // events from a Java producer.
    embedded_broker broker;
    broker.create_topic("marquee.events", 4);
    broker.create_topic("other", 4);
    prometheus::Registry registry;
    {
        kafka_producer producer(options_for(broker.bootstrap()), registry);
        for (int n = 0; n < 20; ++n) {
            const std::string key = "user-" + std::to_string(n);
            producer.produce("marquee.events", key, key, [](core::result<void>) {});
            producer.produce("other", key, key, [](core::result<void>) {});
        }
        ASSERT_TRUE(producer.flush(10s));
    }
    for (const std::string topic : {"marquee.events", "other"}) {
        const auto placed = testing::consume_all(broker.bootstrap(), topic, 20, 20s);
        ASSERT_EQ(placed.size(), 20u) << topic;
        for (const auto& m : placed) EXPECT_EQ(m.partition, java_partition(m.key, 4)) << topic << " " << m.key;
    }
}

TEST(kafka_producer, a_fatal_error_is_reported_and_every_later_message_fails) {
    // It used to be logged as a warning among transient errors: the engine
    // stayed ready while nothing it produced could ever be delivered.
    embedded_broker broker;
    broker.create_topic("t", 1);
    prometheus::Registry registry;
    kafka_producer producer(options_for(broker.bootstrap()), registry);
    EXPECT_TRUE(producer.fatal_error().empty());
    report before;
    producer.produce("t", "k", "v", before.callback());
    ASSERT_TRUE(testing::wait_until([&] { return before.arrived(); }, 20s));
    ASSERT_TRUE(before.outcome->has_value());

    producer.test_fatal_error("out of order sequence");
    ASSERT_TRUE(testing::wait_until([&] { return !producer.fatal_error().empty(); }, 10s));
    EXPECT_NE(producer.fatal_error().find("out of order sequence"), std::string::npos) << producer.fatal_error();
    report after;
    producer.produce("t", "k", "v", after.callback());
    ASSERT_TRUE(testing::wait_until([&] { return after.arrived(); }, 20s));
    EXPECT_FALSE(after.outcome->has_value());
}

TEST(kafka_producer, a_consumer_property_it_ignores_is_no_warning) {
    // kafka.* settings go to every client: each start logged librdkafka's
    // CONFWARN for every consumer setting, from each of three producers.
    embedded_broker broker;
    prometheus::Registry registry;
    auto options = options_for(broker.bootstrap());
    options.properties["session.timeout.ms"] = "6000";
    testing::captured_log log;
    log.logger().set_level(spdlog::level::debug);
    { kafka_producer producer(options, registry); }
    EXPECT_NE(log.text().find("session.timeout.ms"), std::string::npos) << "kept at debug: " << log.text();
    EXPECT_EQ(log.text().find("[warning] kafka: CONFWARN"), std::string::npos) << log.text();
}

TEST(kafka_producer, a_message_still_undelivered_at_destruction_is_reported_failed) {
    spdlog::set_level(spdlog::level::off);  // the unreachable broker's connection errors
    prometheus::Registry registry;
    report never;
    {
        // Nothing listens on port 1; the message would wait for
        // message.timeout.ms (5 min). Destruction flushes 10 s, then gives up.
        kafka_producer producer(options_for("127.0.0.1:1"), registry);
        producer.produce("t", "k", "v", never.callback());
        EXPECT_FALSE(never.arrived());
    }
    spdlog::set_level(spdlog::level::info);
    ASSERT_TRUE(never.arrived());
    EXPECT_FALSE(never.outcome->has_value());
    EXPECT_EQ(never.calls.load(), 1);
}

}  // namespace
}  // namespace marquee::stream
