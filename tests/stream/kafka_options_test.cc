// make_conf: the decision log's producer batches longer than the other
// producer, whatever linger.ms the user gives the clients.
#include "stream/kafka_options.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

namespace marquee::stream {
namespace {

std::string value_of(const RdKafka::Conf& conf, const std::string& key) {
    std::string value;
    EXPECT_EQ(const_cast<RdKafka::Conf&>(conf).get(key, value), RdKafka::Conf::CONF_OK) << key;
    return value;
}

TEST(kafka_options, the_decision_log_producer_lingers_its_own_time) {
    kafka_options o;
    EXPECT_EQ(value_of(*make_conf(o, "producer"), "linger.ms"), "5");
    EXPECT_EQ(value_of(*make_conf(o, "decision_log"), "linger.ms"), "50");

    o.properties["linger.ms"] = "1";
    o.decisions_linger_ms = 200;
    EXPECT_EQ(value_of(*make_conf(o, "producer"), "linger.ms"), "1");
    EXPECT_EQ(value_of(*make_conf(o, "decision_log"), "linger.ms"), "200");
    EXPECT_EQ(value_of(*make_conf(o, "decision_log"), "enable.idempotence"), "true");  // still a producer
}

TEST(kafka_options, an_out_of_range_decision_linger_names_its_setting) {
    kafka_options o;
    o.decisions_linger_ms = -1;
    try {
        make_conf(o, "decision_log");
        FAIL() << "accepted linger.ms = -1";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("topics.decisions_linger_ms"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace marquee::stream
