#include "stream/embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>

namespace marquee::stream {

struct embedded_broker::impl {
    rd_kafka_t* handle = nullptr;
    rd_kafka_mock_cluster_t* cluster = nullptr;
    ~impl() {
        if (cluster) rd_kafka_mock_cluster_destroy(cluster);
        if (handle) rd_kafka_destroy(handle);
    }
};

embedded_broker::embedded_broker(int brokers) : impl_(std::make_unique<impl>()) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The mock cluster needs a client instance to own its threads; this one
    // never produces anything.
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    impl_->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!impl_->handle) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("embedded broker: ") + err);
    }
    // conf is now owned, and freed, by the rd_kafka_t instance.
    impl_->cluster = rd_kafka_mock_cluster_new(impl_->handle, brokers);
    if (!impl_->cluster) throw std::runtime_error("embedded broker: could not start the mock cluster");
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

embedded_broker::~embedded_broker() = default;

void embedded_broker::set_broker_up(int id, bool up) {
    auto err = up ? rd_kafka_mock_broker_set_up(impl_->cluster, id) : rd_kafka_mock_broker_set_down(impl_->cluster, id);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error("embedded broker: broker " + std::to_string(id) + ": " + rd_kafka_err2str(err));
}

void embedded_broker::refuse_next_produce_requests(int count) {
    constexpr std::int16_t produce_api_key = 0;
    for (int i = 0; i < count; ++i)
        rd_kafka_mock_push_request_errors(impl_->cluster, produce_api_key, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
}

void embedded_broker::refuse_next_offset_fetches(int count) {
    constexpr std::int16_t offset_fetch_api_key = 9;
    for (int i = 0; i < count; ++i)
        rd_kafka_mock_push_request_errors(impl_->cluster, offset_fetch_api_key, 1,
                                          RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
}

void embedded_broker::refuse_next_fetches(int count) {
    constexpr std::int16_t fetch_api_key = 1;
    for (int i = 0; i < count; ++i)
        rd_kafka_mock_push_request_errors(impl_->cluster, fetch_api_key, 1, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
}

bool embedded_broker::made(std::string_view cluster_id) { return cluster_id.starts_with("mockCluster"); }

void embedded_broker::create_topic(const std::string& name, int partitions) {
    auto err = rd_kafka_mock_topic_create(impl_->cluster, name.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        throw std::runtime_error("embedded broker: creating " + name + ": " + rd_kafka_err2str(err));
}

}  // namespace marquee::stream
