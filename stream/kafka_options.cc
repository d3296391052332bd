#include "stream/kafka_options.h"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace marquee::stream {

namespace {

// `setting`: the Marquee setting a bad value is reported under.
void set(RdKafka::Conf& conf, const std::string& key, const std::string& value,
         const std::string& setting = {}) {
    std::string err;
    if (conf.set(key, value, err) != RdKafka::Conf::CONF_OK)
        throw std::invalid_argument((setting.empty() ? "kafka." + key : setting) + ": " + err);
}

}  // namespace

std::unique_ptr<RdKafka::Conf> make_conf(const kafka_options& options, const std::string& role) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    if (!options.brokers.empty()) set(*conf, "bootstrap.servers", options.brokers);
    set(*conf, "client.id", "marquee");
    if (role == "consumer") {
        set(*conf, "group.id", options.group_id);
        // Offsets live in RocksDB with the state they produced; the group's
        // committed offsets are only written (after RocksDB) for lag tools.
        set(*conf, "enable.auto.commit", "false");
        set(*conf, "enable.auto.offset.store", "false");
        set(*conf, "auto.offset.reset", "earliest");
        set(*conf, "partition.assignment.strategy", "cooperative-sticky");
        set(*conf, "enable.partition.eof", "false");
        for (const auto& [key, value] : options.consumer_defaults) set(*conf, key, value);
    } else {
        set(*conf, "linger.ms", "5");
        // Kafka's default broker limit (max.message.bytes), so a dead-letter
        // copy of any record the broker once accepted fits again.
        set(*conf, "message.max.bytes", "1048588");
        set(*conf, "enable.idempotence", "true");
        set(*conf, "partitioner", std::string(java_partitioner));
    }
    for (const auto& [key, value] : options.properties) set(*conf, key, value);
    if (role == "decision_log")
        set(*conf, "linger.ms", std::to_string(options.decisions_linger_ms), "topics.decisions_linger_ms");
    return conf;
}

bool is_secret_property(std::string_view key) {
    for (std::string_view marker : {"password", "secret", "ssl.key.pem", "ssl_key", "oauthbearer.config", "sasl.jaas"})
        if (key.find(marker) != std::string_view::npos) return true;
    return false;
}

void log_kafka_event(const RdKafka::Event& e) {
    if (e.type() != RdKafka::Event::EVENT_LOG) return;
    // kafka.* settings go to every client by design: a consumer property
    // ignored by a producer (or the reverse) is expected, not a warning (a
    // few such settings made about 15 of them per start).
    const bool other_role = e.fac() == "CONFWARN" && e.str().find("property and will be ignored by this") != std::string::npos;
    if (e.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR) spdlog::error("kafka: {}: {}", e.fac(), e.str());
    else if (e.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING && !other_role)
        spdlog::warn("kafka: {}: {}", e.fac(), e.str());
    else spdlog::debug("kafka: {}: {}", e.fac(), e.str());
}

}  // namespace marquee::stream
