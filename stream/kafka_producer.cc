#include "stream/kafka_producer.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace marquee::stream {

struct kafka_producer::impl : RdKafka::DeliveryReportCb, RdKafka::EventCb {
    prometheus::Family<prometheus::Counter>* errors = nullptr;
    std::unique_ptr<RdKafka::Producer> producer;
    // The events topic, with its own message.timeout.ms (a client waits on it).
    std::string events_topic;
    std::unique_ptr<RdKafka::Topic> events;
    std::atomic<bool> stop{false};
    bool closed = false;
    std::thread poller;
    mutable std::mutex failed_mutex;
    std::map<std::string, std::uint64_t, std::less<>> failed;  // by topic

    using callback = std::function<void(core::result<void>)>;

    void dr_cb(RdKafka::Message& m) override {
        std::unique_ptr<callback> delivered(static_cast<callback*>(m.msg_opaque()));
        if (m.err() != RdKafka::ERR_NO_ERROR) {
            // Counted before the caller hears of it.
            const auto topic = m.topic_name();
            errors->Add({{"topic", topic}}).Increment();
            std::lock_guard lock(failed_mutex);
            ++failed[topic];
        }
        if (!delivered) return;
        if (m.err() == RdKafka::ERR_NO_ERROR)
            (*delivered)(core::success());
        else
            (*delivered)(core::error{"not_delivered", m.errstr()});
    }

    std::atomic<bool> fatal{false};

    // librdkafka's logs and client errors go to spdlog, like the consumers'.
    void event_cb(RdKafka::Event& e) override {
        if (e.type() != RdKafka::Event::EVENT_ERROR) return log_kafka_event(e);
        if (!e.fatal()) return spdlog::warn("kafka producer: {} ({})", e.str(), RdKafka::err2str(e.err()));
        fatal = true;
        spdlog::critical("kafka producer: fatal error, nothing more can be produced until a restart: {} ({})",
                         e.str(), RdKafka::err2str(e.err()));
    }
};

kafka_producer::kafka_producer(const kafka_options& options, prometheus::Registry& registry, const std::string& role)
    : impl_(std::make_unique<impl>()) {
    impl_->errors = &prometheus::BuildCounter()
                         .Name("marquee_kafka_delivery_errors_total")
                         .Help("Messages Marquee produced that Kafka did not accept, by topic")
                         .Register(registry);
    for (const auto& topic : {options.decisions_topic, options.dlq_topic, options.events_topic})
        if (!topic.empty()) impl_->errors->Add({{"topic", topic}});
    auto conf = make_conf(options, role);
    std::string err;
    if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(impl_.get()), err) != RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(impl_.get()), err) != RdKafka::Conf::CONF_OK)
        throw std::runtime_error(err);
    impl_->producer.reset(RdKafka::Producer::create(conf.get(), err));
    if (!impl_->producer) throw std::runtime_error("kafka producer: " + err);
    if (role == "producer" && !options.events_topic.empty()) {
        // librdkafka takes a topic's configuration as given: the user's
        // topic-level properties (partitioner, compression.type, ...) first.
        std::unique_ptr<RdKafka::Conf> topic_conf(RdKafka::Conf::create(RdKafka::Conf::CONF_TOPIC));
        topic_conf->set("partitioner", std::string(java_partitioner), err);
        for (const auto& [key, value] : options.properties) topic_conf->set(key, value, err);  // global keys refused
        // The HTTP answer has its own deadline of events_delivery_timeout_ms;
        // librdkafka gives up a second later, so its report cannot race it.
        if (topic_conf->set("message.timeout.ms", std::to_string(options.events_delivery_timeout_ms + 1000), err) !=
            RdKafka::Conf::CONF_OK)
            throw std::invalid_argument("topics.events_delivery_timeout_ms: " + err);
        impl_->events.reset(RdKafka::Topic::create(impl_->producer.get(), options.events_topic, topic_conf.get(), err));
        if (!impl_->events)
            throw std::invalid_argument("the events topic's producer settings: " + err +
                                        " (topics.events_delivery_timeout_ms must exceed linger.ms)");
        impl_->events_topic = options.events_topic;
    }
    impl_->poller = std::thread([i = impl_.get()] {
        while (!i->stop.load(std::memory_order_relaxed)) i->producer->poll(100);
    });
}

kafka_producer::~kafka_producer() {
    if (!impl_->closed) close(std::chrono::seconds(10));
    impl_->stop = true;
    impl_->poller.join();
}

bool kafka_producer::close(std::chrono::milliseconds timeout) {
    impl_->closed = true;
    const bool delivered = flush(timeout);
    // Whoever waits on a delivery hears that it failed rather than never.
    impl_->producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    impl_->producer->flush(1'000);
    return delivered;
}

namespace {

core::result<void> produce_error(RdKafka::ErrorCode err) {
    if (err == RdKafka::ERR__QUEUE_FULL) return core::error{"queue_full", "producer queue is full"};
    if (err == RdKafka::ERR_MSG_SIZE_TOO_LARGE) return core::error{"too_large", RdKafka::err2str(err)};
    return core::error{"produce", RdKafka::err2str(err)};
}

}  // namespace

void kafka_producer::produce(std::string_view topic, std::string_view key, std::string_view value,
                             std::function<void(core::result<void>)> delivered) {
    auto opaque = std::make_unique<impl::callback>(std::move(delivered));
    auto* payload = const_cast<char*>(value.data());
    auto err = impl_->events && topic == impl_->events_topic
                   ? impl_->producer->produce(impl_->events.get(), RdKafka::Topic::PARTITION_UA,
                                              RdKafka::Producer::RK_MSG_COPY, payload, value.size(), key.data(),
                                              key.size(), opaque.get())
                   : impl_->producer->produce(std::string(topic), RdKafka::Topic::PARTITION_UA,
                                              RdKafka::Producer::RK_MSG_COPY, payload, value.size(), key.data(),
                                              key.size(), 0, nullptr, opaque.get());
    if (err == RdKafka::ERR_NO_ERROR)
        opaque.release();  // dr_cb's now
    else
        (*opaque)(produce_error(err));
}

core::result<void> kafka_producer::produce(std::string_view topic, std::string_view key, std::string_view value,
                                           std::span<const header> headers) {
    RdKafka::Headers* hs = nullptr;
    if (!headers.empty()) {
        hs = RdKafka::Headers::create();
        for (const auto& h : headers) hs->add(std::string(h.key), h.value.data(), h.value.size());
    }
    auto err = impl_->producer->produce(std::string(topic), RdKafka::Topic::PARTITION_UA,
                                        RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                        value.size(), key.data(), key.size(), 0, hs, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return core::success();  // headers now owned by librdkafka
    delete hs;
    return produce_error(err);
}

bool kafka_producer::flush(std::chrono::milliseconds timeout) {
    return impl_->producer->flush(int(timeout.count())) == RdKafka::ERR_NO_ERROR;
}

std::uint64_t kafka_producer::failed_deliveries(std::string_view topic) const {
    std::lock_guard lock(impl_->failed_mutex);
    auto it = impl_->failed.find(topic);
    return it == impl_->failed.end() ? 0 : it->second;
}

std::string kafka_producer::fatal_error() const {
    if (!impl_->fatal.load()) return {};
    std::string reason;
    const auto err = impl_->producer->fatal_error(reason);
    return reason.empty() ? RdKafka::err2str(err) : reason;
}

void kafka_producer::test_fatal_error(const std::string& reason) {
    rd_kafka_test_fatal_error(impl_->producer->c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason.c_str());
}

}  // namespace marquee::stream
