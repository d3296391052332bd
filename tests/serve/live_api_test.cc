// The API inside a running engine (engine_host: librdkafka's mock cluster,
// RocksDB on disk, HTTP on loopback): what POST /v1/events and POST
// /v1/rewards produce comes back through the ingest, and every route keeps
// answering while the ingest applies a stream.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "app/engine_host.h"
#include "serve/api.h"
#include "stream/embedded_broker.h"
#include "stream/kafka_producer.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

namespace marquee {
namespace {

using namespace std::chrono_literals;

using testing::json_field;

class live_api : public ::testing::Test {
protected:
    void SetUp() override {
        spdlog::set_level(spdlog::level::warn);
        testing::create_engine_topics(broker, 2, true);
    }
    stream::embedded_broker broker;
    testing::temp_dir dir;
};

TEST_F(live_api, a_posted_event_is_consumed_applied_and_visible_in_the_user_summary) {
    app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
    ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));
    const int port = host.http_port();
    EXPECT_EQ(testing::http_get(port, "/v1/users/alice").status, 404);
    for (const char* event : {R"("type":"like","item_id":"m1")", R"("type":"like","item_id":"m2")",
                              R"("type":"dislike","item_id":"m3")"}) {
        auto r = testing::http_request(port, "POST", "/v1/events",
                                       std::string(R"({"user_id":"alice",)") + event + R"(,"ts":1700000000000})");
        ASSERT_EQ(r.status, 202) << r.body;
    }
    testing::http_reply summary;
    ASSERT_TRUE(testing::wait_until([&] {
        summary = testing::http_get(port, "/v1/users/alice");
        return summary.status == 200 && summary.body.find("\"events\":3") != std::string::npos;
    }, 30s)) << summary.body;
    EXPECT_NE(summary.body.find("\"like\":2"), std::string::npos) << summary.body;
    EXPECT_NE(summary.body.find("\"recent\":[\"m3\",\"m2\",\"m1\"],\"recent_liked\":[false,true,true]"),
              std::string::npos) << summary.body;
    EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_http_events_produced_total", "kind", "event"), 3);
}

TEST_F(live_api, a_producer_that_failed_fatally_makes_the_engine_not_ready) {
    app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
    ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));
    const int port = host.http_port();
    ASSERT_EQ(testing::http_get(port, "/readyz").status, 200);
    host.http_producer().test_fatal_error("test");
    ASSERT_TRUE(testing::wait_until([&] { return !host.ready(); }, 10s));
    auto r = testing::http_get(port, "/readyz");
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(r.body.find("failed fatally"), std::string::npos) << r.body;
    EXPECT_EQ(testing::http_request(port, "POST", "/v1/events", R"({"type":"like","user_id":"a","item_id":"m1"})").status,
              503);
}

TEST_F(live_api, a_posted_event_the_brokers_do_not_acknowledge_is_a_503_at_the_configured_timeout) {
    // The answer used to wait for librdkafka's own message timeout, which it
    // checks once a second, or later for a request already in flight (14-20 s
    // measured against a 10 s setting when a real broker went away).
    auto c = testing::engine_config(broker.bootstrap(), dir.str());
    c.kafka.events_delivery_timeout_ms = 1000;
    app::engine_host host(std::move(c));
    ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));
    const int port = host.http_port();
    broker.set_broker_up(1, false);
    const auto sent = std::chrono::steady_clock::now();
    auto r = testing::http_request(port, "POST", "/v1/events", R"({"type":"like","user_id":"a","item_id":"m1"})");
    const auto took = std::chrono::steady_clock::now() - sent;
    broker.set_broker_up(1, true);
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_NE(r.body.find("not acknowledged within 1000 ms"), std::string::npos) << r.body;
    EXPECT_LT(took, 10s);
}

TEST_F(live_api, a_posted_event_is_accepted_only_once_kafka_has_it) {
    app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
    ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));
    const int port = host.http_port();
    // The broker refuses the first event: the client hears so, not 202.
    broker.refuse_next_produce_requests(1);
    auto refused = testing::http_request(port, "POST", "/v1/events",
                                         R"({"user_id":"bob","type":"like","item_id":"m1","ts":1700000000000})");
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_NE(refused.body.find("\"code\":\"unavailable\""), std::string::npos) << refused.body;
    EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_http_events_produced_total", "kind", "event"), 0);
    auto accepted = testing::http_request(port, "POST", "/v1/events",
                                          R"({"user_id":"bob","type":"like","item_id":"m2","ts":1700000000001})");
    ASSERT_EQ(accepted.status, 202) << accepted.body;
    // A 202 was answered after delivery: the event is on the topic already.
    auto on_topic = testing::consume_all(broker.bootstrap(), "marquee.events", 1, 10s);
    ASSERT_EQ(on_topic.size(), 1u);
    EXPECT_NE(on_topic[0].value.find("\"m2\""), std::string::npos) << on_topic[0].value;
    testing::http_reply summary;
    ASSERT_TRUE(testing::wait_until([&] {
        summary = testing::http_get(port, "/v1/users/bob");
        return summary.status == 200;
    }, 30s)) << summary.body;
    EXPECT_NE(summary.body.find("\"events\":1,"), std::string::npos) << summary.body;
}

TEST_F(live_api, a_posted_event_the_brokers_do_not_acknowledge_in_time_is_a_503_not_a_hang) {
    auto config = testing::engine_config(broker.bootstrap(), dir.str());
    config.kafka.events_delivery_timeout_ms = 1000;
    app::engine_host host(config);
    ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));
    const int port = host.http_port();
    const std::string event = R"({"user_id":"dan","type":"like","item_id":"m1","ts":1700000000000,"event_id":"e1"})";
    broker.set_broker_up(1, false);
    const auto started = std::chrono::steady_clock::now();
    auto late = testing::http_request(port, "POST", "/v1/events", event);
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(late.status, 503) << late.body;
    EXPECT_NE(late.body.find("send it again with an event_id"), std::string::npos) << late.body;
    EXPECT_LT(waited, 30s) << "bounded by the delivery timeout, not librdkafka's 5 minutes";
    broker.set_broker_up(1, true);
    // The retries the 503 asks for (until the producer has reconnected) are
    // applied once, whatever became of the earlier attempts.
    testing::http_reply retried;
    ASSERT_TRUE(testing::wait_until([&] {
        retried = testing::http_request(port, "POST", "/v1/events", event);
        return retried.status == 202;
    }, 60s)) << retried.body;
    testing::http_reply summary;
    ASSERT_TRUE(testing::wait_until([&] {
        summary = testing::http_get(port, "/v1/users/dan");
        return summary.status == 200;
    }, 30s)) << summary.body;
    // Every attempt that reached the topic has been read once the group's
    // offsets (committed with the state they describe) are at its end.
    ASSERT_TRUE(testing::wait_until([&] {
        const auto end = testing::end_offsets(broker.bootstrap(), "marquee.events", 2);
        return end > 0 && testing::group_committed(broker.bootstrap(), config.kafka.group_id, "marquee.events", 2) == end;
    }, 30s));
    summary = testing::http_get(port, "/v1/users/dan");
    EXPECT_NE(summary.body.find("\"events\":1,"), std::string::npos) << summary.body;
}

TEST_F(live_api, retrieval_settings_above_the_snapshot_defaults_are_honoured) {
    testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(50, 300, 3000, 5));
    auto config = testing::engine_config(broker.bootstrap(), dir.str());
    // A cold user gets popular items only: as many as asked, beyond the
    // snapshot's default list of 50.
    config.api.recommend.popular_n = 80;
    config.api.recommend.new_release_n = 0;
    app::engine_host host(config);
    ASSERT_TRUE(testing::wait_until(
        [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total") >= 3000; }, 30s));
    testing::http_reply rec;
    ASSERT_TRUE(testing::wait_until([&] {
        rec = testing::http_get(host.http_port(), "/v1/users/nobody/recommendations?k=80&explore=0");
        return rec.status == 200 && rec.body.find("\"items\":[]") == std::string::npos;
    }, 30s)) << rec.body;
    EXPECT_EQ(testing::item_ids(rec.body).size(), 80u) << rec.body.substr(0, 300);
}

TEST_F(live_api, a_reward_for_a_recommendation_reaches_the_bandit_through_the_stream_once) {
    testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(20, 80, 1500, 3));
    app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
    const int port = host.http_port();
    ASSERT_TRUE(testing::wait_until(
        [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total") >= 1500; }, 30s));
    // k = 1: the reward completes the decision, which a retry must still find.
    testing::http_reply rec;
    ASSERT_TRUE(testing::wait_until([&] {
        rec = testing::http_get(port, "/v1/users/u1/recommendations?k=1");
        return rec.status == 200 && rec.body.find("\"items\":[]") == std::string::npos;
    }, 30s)) << rec.body;
    const std::string body = R"({"decision_id":")" + json_field(rec.body, "decision_id") + R"(","item_id":")" +
                             json_field(rec.body, "item_id") + R"(","reward":1})";
    // Once the decision log is out, the next produce request is the
    // reward's: refused, it is a 503 (and a retry goes through).
    ASSERT_EQ(testing::consume_all(broker.bootstrap(), "marquee.decisions", 1, 10s).size(), 1u);
    broker.refuse_next_produce_requests(1);
    auto refused = testing::http_request(port, "POST", "/v1/rewards", body);
    EXPECT_EQ(refused.status, 503) << refused.body;
    auto r = testing::http_request(port, "POST", "/v1/rewards", body);
    ASSERT_EQ(r.status, 202) << r.body;
    ASSERT_TRUE(testing::wait_until(
        [&] { return testing::metric_sum(host.registry(), "marquee_rewards_total", "outcome", "applied") == 1; }, 30s));
    // A client retry carries the same event_id: the ingest skips it.
    auto retry = testing::http_request(port, "POST", "/v1/rewards", body);
    ASSERT_EQ(retry.status, 202) << retry.body;
    ASSERT_TRUE(testing::wait_until(
        [&] { return testing::metric_sum(host.registry(), "marquee_events_duplicate_total") >= 1; }, 30s));
    EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_rewards_total", "outcome", "applied"), 1);
}

TEST_F(live_api, every_route_answers_while_the_ingest_applies_a_stream) {
    app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
    const int port = host.http_port();
    ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));
    constexpr int total = 20000, chunks = 40;
    const auto applied = [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total"); };
    const double applied_before = applied();
    // The stream arrives over a second or more, so the ingest applies it
    // while the clients run, not before they start or after they finish.
    std::atomic<bool> produced{false};
    std::thread producer([&] {
        const auto stream = testing::synthetic_events(200, 400, total, 9);
        const std::size_t chunk = stream.size() / chunks;
        for (std::size_t at = 0; at < stream.size(); at += chunk) {
            testing::produce_events(broker.bootstrap(), "marquee.events",
                                    {stream.begin() + long(at), stream.begin() + long(std::min(at + chunk, stream.size()))});
            std::this_thread::sleep_for(25ms);
        }
        produced = true;
    });
    std::atomic<int> unexpected{0}, rank_rewards{0};
    std::atomic<bool> served_mid_stream{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 2; ++c)
        clients.emplace_back([&, c] {
            testing::http_connection conn(port);
            const std::string rank =
                R"({"user_id":"u)" + std::to_string(c) +
                R"(","context":{"hour":"21"},"k":2,"candidates":[{"id":"m1","features":{"g":"a"}},)"
                R"({"id":"m2","features":{"g":"b"}},{"id":"zz","features":{"g":"c"}}]})";
            for (int i = 0; i < 60 || !produced; ++i) {
                const std::string user = "u" + std::to_string((c * 60 + i) % 200);
                auto check = [&](const testing::http_reply& r, std::initializer_list<int> ok) {
                    if (std::find(ok.begin(), ok.end(), r.status) == ok.end()) {
                        ++unexpected;
                        ADD_FAILURE() << r.status << " " << r.body;
                    }
                };
                check(conn.request("GET", "/v1/users/" + user + "/recommendations?k=5&policy=thompson"), {200});
                check(conn.request("GET", "/v1/users/" + user), {200, 404});
                check(conn.request("GET", "/v1/items/m" + std::to_string(i) + "/similar?k=5"), {200, 404});
                auto ranked = conn.request("POST", "/v1/rank", rank);
                check(ranked, {200});
                check(conn.request("POST", "/v1/rewards",
                                   R"({"decision_id":")" + json_field(ranked.body, "decision_id") + R"(","item_id":")" +
                                       json_field(ranked.body, "id") + R"(","reward":1})"),
                      {200});
                ++rank_rewards;
                if (const double a = applied(); a > 0 && a < total) served_mid_stream = true;
            }
        });
    for (auto& t : clients) t.join();
    producer.join();
    EXPECT_EQ(unexpected.load(), 0);
    EXPECT_EQ(applied_before, 0);
    EXPECT_TRUE(served_mid_stream) << "no round was served while the ingest was part-way through the stream";
    ASSERT_TRUE(testing::wait_until([&] { return applied() >= total; }, 60s));
    EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_rank_rewards_total", "outcome", "applied"),
              rank_rewards.load());
}

TEST_F(live_api, rank_state_survives_an_engine_restart) {
    std::string decision, item;
    {
        app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
        auto r = testing::http_request(host.http_port(), "POST", "/v1/rank",
                                       R"({"k":2,"candidates":[{"id":"a","features":{"g":"x"}},{"id":"b"}]})");
        ASSERT_EQ(r.status, 200) << r.body;
        decision = json_field(r.body, "decision_id");
        item = json_field(r.body, "id");
        ASSERT_EQ(testing::http_request(host.http_port(), "POST", "/v1/rewards",
                                        R"({"decision_id":")" + decision + R"(","item_id":")" + item +
                                            R"(","reward":1})")
                      .status,
                  200);
    }
    app::engine_host host(testing::engine_config(broker.bootstrap(), dir.str()));
    auto again = testing::http_request(host.http_port(), "POST", "/v1/rewards",
                                       R"({"decision_id":")" + decision + R"(","item_id":")" + item +
                                           R"(","reward":1})");
    EXPECT_EQ(again.status, 200);
    EXPECT_NE(again.body.find("\"outcome\":\"duplicate\""), std::string::npos) << again.body;
    auto r = testing::http_request(host.http_port(), "POST", "/v1/rank", R"({"candidates":[{"id":"a"}]})");
    EXPECT_NE(r.body.find("\"model_version\":1"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace marquee
