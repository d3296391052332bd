// embedded_broker: an in-process Kafka-protocol broker (librdkafka's mock
// cluster) for running Marquee and its tests with no external Kafka. It
// listens on 127.0.0.1; any Kafka client (kcat included) can use it. Its
// data lives in memory and is gone when it is destroyed.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace marquee::stream {

class embedded_broker {
public:
    // Starts `brokers` mock brokers. Throws std::runtime_error on failure.
    explicit embedded_broker(int brokers = 1);
    ~embedded_broker();
    embedded_broker(const embedded_broker&) = delete;
    embedded_broker& operator=(const embedded_broker&) = delete;

    const std::string& bootstrap() const { return bootstrap_; }
    // Creates a topic (replication factor 1). Throws on failure.
    void create_topic(const std::string& name, int partitions);
    // Takes broker `id` (1-based) off the network, or brings it back: the
    // closest the mock cluster has to a broker restart.
    void set_broker_up(int id, bool up);
    // Answers the next `count` produce requests, whatever their topic, with
    // a non-retriable error (MSG_SIZE_TOO_LARGE), as a broker that refuses
    // records would: for tests of what is done with undelivered messages.
    void refuse_next_produce_requests(int count);
    // Answers the next `count` OffsetFetch requests (reading a group's
    // committed offsets) with GROUP_AUTHORIZATION_FAILED, which is not retried.
    void refuse_next_offset_fetches(int count);
    // Answers the next `count` Fetch requests (consumers reading records)
    // with REQUEST_TIMED_OUT, which consumers retry after a backoff: records
    // produced meanwhile are acknowledged but not yet read.
    void refuse_next_fetches(int count);

    // Whether `cluster_id` names a cluster of this kind (librdkafka's mock
    // names its clusters "mockCluster<hex>"; a real Kafka id is a base64 UUID).
    static bool made(std::string_view cluster_id);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::string bootstrap_;
};

}  // namespace marquee::stream
