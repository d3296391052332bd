// kafka_producer: a thread-safe, non-blocking Kafka producer with its own
// delivery-report thread. Used for decision logs, events posted over HTTP and
// the dead-letter topic.
// Delivery failures are counted in marquee_kafka_delivery_errors_total{topic}.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "stream/kafka_options.h"

namespace prometheus {
class Registry;
}

namespace marquee::stream {

struct header {
    std::string_view key;
    std::string_view value;
};

class kafka_producer {
public:
    // Throws std::invalid_argument / std::runtime_error on bad configuration.
    // The delivery-error counter starts at 0 for each of `options`' topics.
    // `role`: make_conf's, "producer" or "decision_log".
    kafka_producer(const kafka_options& options, prometheus::Registry& registry,
                   const std::string& role = "producer");
    // close(10 s) unless closed, then stops the report thread.
    ~kafka_producer();

    // Enqueues one message; fails fast (reason "queue_full", "too_large",
    // "produce") and never blocks the caller.
    core::result<void> produce(std::string_view topic, std::string_view key, std::string_view value,
                               std::span<const header> headers = {});
    // The same, reporting the outcome to `delivered` exactly once: at once
    // if the message is not taken, else on the report thread when Kafka
    // acknowledges it or gives up on it (at destruction at the latest).
    void produce(std::string_view topic, std::string_view key, std::string_view value,
                 std::function<void(core::result<void>)> delivered);
    // Waits until everything enqueued so far is delivered or failed.
    bool flush(std::chrono::milliseconds timeout);
    // At shutdown: flushes for up to `timeout`, then fails what is left (its
    // callbacks hear so). False if something was not delivered in time.
    bool close(std::chrono::milliseconds timeout);
    // Messages to `topic` that Kafka did not accept, since construction.
    std::uint64_t failed_deliveries(std::string_view topic) const;
    // librdkafka's reason once the producer has failed fatally (an
    // idempotence error it cannot recover from): every produce fails from
    // then on, so the engine reports itself not ready. Empty until then.
    std::string fatal_error() const;
    // Raises a fatal error as librdkafka would (rd_kafka_test_fatal_error),
    // so what depends on fatal_error() can be tested.
    void test_fatal_error(const std::string& reason);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::stream
