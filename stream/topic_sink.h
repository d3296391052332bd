// topic_sink: a core::message_sink that appends to one Kafka topic.
// Thread-safe; never blocks (a full queue is reported as an error).
#pragma once

#include <string>

#include "core/message_sink.h"
#include "stream/kafka_producer.h"

namespace marquee::stream {

class topic_sink final : public core::message_sink {
public:
    topic_sink(kafka_producer& producer, std::string topic) : producer_(producer), topic_(std::move(topic)) {}
    core::result<void> send(std::string_view key, std::string_view value) override {
        return producer_.produce(topic_, key, value);
    }
    void send_confirmed(std::string_view key, std::string_view value, delivery_callback delivered) override {
        producer_.produce(topic_, key, value, std::move(delivered));
    }

private:
    kafka_producer& producer_;
    std::string topic_;
};

}  // namespace marquee::stream
