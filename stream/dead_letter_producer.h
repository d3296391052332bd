// dead_letter_producer: sends invalid events to the dead-letter topic with
// their original key and bytes, plus headers saying why and where they came
// from (marquee.error.reason, marquee.error.message, marquee.source.topic,
// marquee.source.partition, marquee.source.offset). A record too large to
// produce again keeps its first 64 KiB and says so in
// marquee.error.truncated_from (the original size). Thread-compatible.
// confirm() flushes the whole producer, which waits for every message in it:
// give it a producer of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "stream/batch_applier.h"
#include "stream/kafka_producer.h"

namespace marquee::stream {

class dead_letter_producer final : public dead_letter_sink {
public:
    dead_letter_producer(kafka_producer& producer, std::string topic,
                         std::chrono::milliseconds confirm_timeout = std::chrono::seconds(30))
        : producer_(producer), topic_(std::move(topic)), confirm_timeout_(confirm_timeout) {}

    core::result<void> send(const raw_message& message, const core::error& why) override;
    core::result<void> confirm() override;

    static constexpr std::size_t truncated_bytes = 64 * 1024;

private:
    kafka_producer& producer_;
    std::string topic_;
    std::chrono::milliseconds confirm_timeout_;
    std::uint64_t failed_seen_ = 0;  // producer_.failed_deliveries(topic_) at the last confirm()
};

}  // namespace marquee::stream
