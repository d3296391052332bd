#include "app/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "utils/test_utils.h"

namespace marquee::app {
namespace {

TEST(config, defaults_are_sane) {
    config c;
    EXPECT_EQ(c.kafka.events_topic, "marquee.events");
    EXPECT_EQ(c.kafka.dlq_topic, "marquee.events.dlq");
    EXPECT_TRUE(c.kafka.brokers.empty());
    EXPECT_EQ(get(c, "http.port"), "8080");
    EXPECT_EQ(get(c, "model.dim"), "32");
}

TEST(config, precedence_is_toml_then_environment_then_set) {
    testing::temp_dir dir;
    const auto path = (dir.path() / "marquee.toml").string();
    std::ofstream(path) << "[http]\nport = 9000\nthreads = 3\n[model]\nlearning_rate = 0.5\n"
                           "[kafka]\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.password\" = \"hunter2\"\n";
    config c;
    apply_toml_file(c, path);
    EXPECT_EQ(c.http.port, 9000);
    EXPECT_EQ(c.http.threads, 3);
    EXPECT_FLOAT_EQ(c.model.mf.learning_rate, 0.5f);
    EXPECT_EQ(c.kafka.properties.at("security.protocol"), "SASL_SSL");

    std::string a = "MARQUEE_HTTP__PORT=9100", b = "MARQUEE_KAFKA__SASL_MECHANISMS=PLAIN",
                d = "MARQUEE_BROKERS=k1:9092,k2:9092", e = "MARQUEE_KAFKA__CLIENT___RACK__ID=x", f = "PATH=/bin";
    char* env[] = {a.data(), b.data(), d.data(), e.data(), f.data(), nullptr};
    apply_environment(c, env);
    EXPECT_EQ(c.http.port, 9100);
    EXPECT_EQ(c.kafka.properties.at("sasl.mechanisms"), "PLAIN");
    EXPECT_EQ(c.kafka.properties.at("client-rack_id"), "x");
    EXPECT_EQ(c.kafka.brokers, "k1:9092,k2:9092");

    set(c, "http.port", "9200");
    EXPECT_EQ(c.http.port, 9200);
    auto printed = print(c);
    EXPECT_NE(printed.find("http.port = 9200"), std::string::npos);
    EXPECT_NE(printed.find("kafka.sasl.password = [redacted]"), std::string::npos);
    EXPECT_EQ(printed.find("hunter2"), std::string::npos);
}

TEST(config, print_shows_every_kind_of_kafka_secret_as_redacted) {
    config c;
    const std::map<std::string, std::string> secrets = {
        {"sasl.password", "pw-1"},
        {"ssl.key.password", "pw-2"},
        {"ssl.keystore.password", "pw-3"},
        {"ssl.key.pem", "-----BEGIN PRIVATE KEY-----"},
        {"sasl.oauthbearer.client.secret", "cs-4"},
        {"sasl.oauthbearer.config", "principal=me secret=cs-5"},
    };
    for (const auto& [key, value] : secrets) c.kafka.properties[key] = value;
    c.kafka.properties["sasl.username"] = "alice";
    const auto printed = print(c);
    for (const auto& [key, value] : secrets) {
        EXPECT_NE(printed.find("kafka." + key + " = [redacted]"), std::string::npos) << key;
        EXPECT_EQ(printed.find(value), std::string::npos) << key;
    }
    EXPECT_NE(printed.find("kafka.sasl.username = alice"), std::string::npos) << "not a secret";
}

TEST(config, bad_keys_and_values_name_the_key) {
    config c;
    try {
        set(c, "http.prot", "1");
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("http.prot"), std::string::npos);
    }
    EXPECT_THROW(set(c, "http.port", "eighty"), std::invalid_argument);
    EXPECT_THROW(set(c, "http.port", "70000"), std::invalid_argument);
    EXPECT_THROW(set(c, "state.sync_writes", "maybe"), std::invalid_argument);
    EXPECT_NO_THROW(set(c, "ingest.batch_max_wait_ms", "25"));
    EXPECT_EQ(c.ingest.batch_max_wait.count(), 25);
    testing::temp_dir dir;
    const auto path = (dir.path() / "bad.toml").string();
    std::ofstream(path) << "[http]\nport = 1\ndefault_k = \n";
    try {
        apply_toml_file(c, path);
        ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("bad.toml:3:"), std::string::npos) << "where it is: " << e.what();
    }
}

TEST(config, rules_between_settings_are_checked_and_name_the_keys) {
    EXPECT_NO_THROW(validate(config{}));
    auto refused = [](auto change) -> std::string {
        config c;
        change(c);
        try {
            validate(c);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "accepted";
    };
    EXPECT_NE(refused([](config& c) { c.kafka.dlq_topic = c.kafka.events_topic; }).find("topics.dlq"), std::string::npos)
        << "dead letters read back as events would loop forever";
    EXPECT_NE(refused([](config& c) { c.kafka.dlq_topic = c.kafka.items_topic; }).find("topics.dlq"), std::string::npos);
    EXPECT_NE(refused([](config& c) { c.kafka.events_topic.clear(); }).find("topics.events"), std::string::npos);
    // Records are read by topic: every one on a shared topic would be rejected.
    EXPECT_EQ(refused([](config& c) { c.kafka.items_topic = c.kafka.events_topic; }),
              "topics.items: 'marquee.events' is also topics.events; each must be a topic of its own");
    EXPECT_NE(refused([](config& c) { c.kafka.decisions_topic = c.kafka.events_topic; }).find("topics.decisions"),
              std::string::npos);
    EXPECT_NE(refused([](config& c) { c.kafka.decisions_topic = c.kafka.items_topic; }).find("topics.decisions"),
              std::string::npos);
    EXPECT_EQ(refused([](config& c) { c.kafka.items_topic.clear(); }), "accepted") << "no catalog";
    EXPECT_NE(refused([](config& c) { c.api.default_k = c.api.max_k + 1; }).find("api.default_k"), std::string::npos);
    EXPECT_NE(refused([](config& c) { c.http.address = "localhost"; }).find("http.address"), std::string::npos);
    EXPECT_EQ(refused([](config& c) { c.http.address = "::"; }), "accepted");
    EXPECT_EQ(refused([](config& c) { c.kafka.dlq_topic.clear(); }), "accepted") << "empty disables it";
}

TEST(config, values_that_would_break_the_engine_are_refused_naming_the_range) {
    config c;
    auto refused = [&](const char* key, const char* value) -> std::string {
        try {
            set(c, key, value);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "accepted";
    };
    // A division by zero and a NaN decay, had they been accepted.
    EXPECT_EQ(refused("rank.checkpoint_every", "0"), "rank.checkpoint_every: '0' is out of range (at least 1)");
    EXPECT_EQ(refused("model.popularity_half_life_hours", "0"),
              "model.popularity_half_life_hours: '0' is out of range (above 0)");
    EXPECT_EQ(refused("bandit.epsilon", "1.5"), "bandit.epsilon: '1.5' is out of range (at least 0 and at most 1)");
    EXPECT_EQ(refused("model.learning_rate", "nan"), "model.learning_rate: 'nan' is out of range (above 0 and at most 10)");
    // A step that overflows a float is past what the max-norm cap can bound.
    EXPECT_EQ(refused("model.learning_rate", "1e18"), "model.learning_rate: '1e18' is out of range (above 0 and at most 10)");
    EXPECT_EQ(refused("http.threads", "0"), "http.threads: '0' is out of range (at least 1 and at most 256)");
    EXPECT_EQ(refused("ingest.batch_max_wait_ms", "-1"), "ingest.batch_max_wait_ms: '-1' is out of range (at least 0)");
    // A decision larger than the store decodes, and per-request buffers of any size.
    EXPECT_EQ(refused("api.max_k", "20000"), "api.max_k: '20000' is out of range (at least 1 and at most 1000)");
    // Days to milliseconds beyond int64 (undefined behaviour).
    EXPECT_EQ(refused("model.new_release_days", "1e12"),
              "model.new_release_days: '1e12' is out of range (at least 0 and at most 36500)");
    EXPECT_EQ(refused("retrieval.covisit_n", "100000000"),
              "retrieval.covisit_n: '100000000' is out of range (at least 0 and at most 1000)");
    EXPECT_EQ(get(c, "rank.checkpoint_every"), get(config{}, "rank.checkpoint_every")) << "a refused value is not kept";
    // The bounds themselves are allowed, and every default is in range.
    EXPECT_EQ(refused("bandit.epsilon", "1"), "accepted");
    EXPECT_EQ(refused("rank.checkpoint_every", "1"), "accepted");
    const config defaults;
    for (const auto& key : config_keys()) {
        EXPECT_EQ(refused(std::string(key.name).c_str(), get(defaults, key.name).c_str()), "accepted") << key.name;
    }
}

TEST(config, every_documented_key_reads_back) {
    config c;
    for (const auto& k : config_keys()) {
        EXPECT_FALSE(k.doc.empty()) << k.name;
        EXPECT_NO_THROW(set(c, k.name, get(c, k.name))) << k.name;
    }
}

}  // namespace
}  // namespace marquee::app

namespace marquee::app {
namespace {

TEST(config, the_readme_documents_every_key_with_its_default) {
    std::ifstream in(MARQUEE_SOURCE_DIR "/README.md");
    ASSERT_TRUE(in);
    const std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    config c;
    for (const auto& k : config_keys()) {
        const std::string value = get(c, k.name);
        const std::string row = "| `" + std::string(k.name) + "` | " + (value.empty() ? "(empty)" : "`" + value + "`") + " |";
        EXPECT_NE(readme.find(row), std::string::npos) << "README lacks: " << row;
    }
}

}  // namespace
}  // namespace marquee::app

#include <spdlog/spdlog.h>

#include "app/log_format.h"

namespace marquee::app {
namespace {

TEST(log_format, json_lines_escape_the_message) {
    std::string line;
    {
        testing::captured_log out;
        set_log_format("json");
        spdlog::info("assigned \"marquee.events\"[3]\n");
        set_log_format("text");
        line = out.text();
    }
    EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
    EXPECT_NE(line.find(R"("level":"info","msg":"assigned \"marquee.events\"[3]\n"})"), std::string::npos) << line;
    EXPECT_THROW(set_log_format("xml"), std::invalid_argument);
}

}  // namespace
}  // namespace marquee::app
