// kafka_options: where Marquee's topics live and how it talks to them.
// Every `kafka.*` key is handed verbatim to librdkafka (SASL, SSL, client.id,
// fetch sizes ...), after Marquee's own defaults, so users can override them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace RdKafka {
class Conf;
class Event;
}

namespace marquee::stream {

struct kafka_options {
    // Bootstrap servers. Empty: start an in-process Kafka-protocol broker
    // (librdkafka's mock cluster). Default: empty.
    std::string brokers;
    // Consumer group. Default: "marquee".
    std::string group_id = "marquee";
    // Default: "marquee.events".
    std::string events_topic = "marquee.events";
    // Catalog (compacted, key = item id): availability, release time,
    // title, genres. Default: "marquee.items".
    std::string items_topic = "marquee.items";
    // Served decisions are appended here. Default: "marquee.decisions".
    std::string decisions_topic = "marquee.decisions";
    // linger.ms of the decision log's own producer (it replaces `linger.ms`
    // there). The log is bulk and nobody waits for it; the other producer
    // keeps 5 ms for events posted over HTTP. Default: 50.
    int decisions_linger_ms = 50;
    // How long POST /v1/events (and a recommendation's reward) waits for the
    // brokers before it answers 503 rather than 202; what it produces to the
    // events topic has a message.timeout.ms 1 s longer. Default: 10000.
    int events_delivery_timeout_ms = 10000;
    // Invalid events go here with the reason in headers; empty disables the
    // dead-letter topic (invalid events are still counted). Default: "marquee.events.dlq".
    std::string dlq_topic = "marquee.events.dlq";
    // Partitions of each topic on the embedded broker. Default: 4.
    int embedded_partitions = 4;
    // librdkafka properties, applied last, verbatim.
    std::map<std::string, std::string> properties;
    // Consumer-only defaults the engine chooses (e.g. for the embedded
    // broker); applied to consumers before `properties`, so a user's
    // setting wins and producers never see (and warn about) them.
    std::map<std::string, std::string> consumer_defaults;
};

// The producers' default partitioner: Java clients' (murmur2 of the key),
// so an event Marquee produces lands in the partition, and so the group
// member, that a Java producer would put the same user's events in.
// librdkafka's own default hashes with CRC32.
inline constexpr std::string_view java_partitioner = "murmur2_random";

// Builds a librdkafka configuration: bootstrap servers, Marquee's defaults
// for `role` ("consumer", "producer" or "decision_log", a producer with
// linger.ms = decisions_linger_ms), then `properties`. Throws
// std::invalid_argument with librdkafka's own message on a bad key or value.
std::unique_ptr<RdKafka::Conf> make_conf(const kafka_options& options, const std::string& role);

// Whether a librdkafka property holds a secret (a password, a client
// secret, a private key or an OAUTHBEARER/JAAS configuration), never to be shown.
bool is_secret_property(std::string_view key);

// Logs a librdkafka log event through spdlog at its severity, so log.level
// and log.format apply to librdkafka's own lines (an event callback takes
// them off stderr). Other event types are ignored.
void log_kafka_event(const RdKafka::Event& e);

}  // namespace marquee::stream
