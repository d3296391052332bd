// dead_letter_producer: sends invalid events to the dead-letter topic with
// their original key and bytes, plus headers saying why and where they came
// from (marquee.error.reason, marquee.error.message, marquee.source.topic,
// marquee.source.partition, marquee.source.offset). Thread-compatible.
#pragma once

#include <string>

#include "stream/batch_applier.h"
#include "stream/kafka_producer.h"

namespace marquee::stream {

class dead_letter_producer final : public dead_letter_sink {
public:
    dead_letter_producer(kafka_producer& producer, std::string topic)
        : producer_(producer), topic_(std::move(topic)) {}

    void send(const raw_message& message, const core::error& why) override;

private:
    kafka_producer& producer_;
    std::string topic_;
};

}  // namespace marquee::stream
