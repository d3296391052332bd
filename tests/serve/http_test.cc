// The HTTP API over a real loopback socket, with a real RocksDB store.
#include <gtest/gtest.h>

#include <thread>

#include "serve/serve_fixture.h"

namespace marquee::serve {
namespace {

TEST_F(http_api, healthz_and_readyz_answer) {
    auto r = testing::http_get(port, "/healthz");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"status\":\"ok\"}");
    EXPECT_EQ(testing::http_get(port, "/readyz").status, 200);
}

TEST_F(http_api, recommendations_are_recorded_and_logged_before_the_reply) {
    auto r = testing::http_get(port, "/v1/users/fan/recommendations?k=5");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"cold_start\":false"), std::string::npos);
    EXPECT_NE(r.body.find("\"reason\":\"embedding\""), std::string::npos) << r.body;
    auto id_at = r.body.find("\"decision_id\":\"") + 15;
    std::string decision_id = r.body.substr(id_at, 32);
    auto d = store->get_decision(decision_id);
    ASSERT_TRUE(d && d.value()) << decision_id;
    EXPECT_EQ(d.value()->items.size(), 5u);
    EXPECT_EQ(d.value()->user_id, "fan");
    for (const auto& item : d.value()->items) {
        EXPECT_NE(r.body.find("\"item_id\":\"" + item.item_id + "\""), std::string::npos);
        EXPECT_NE(item.item_id, "m0") << "seen items are not recommended";
    }
    std::lock_guard lock(sink.mutex);
    ASSERT_EQ(sink.messages.size(), 1u);
    EXPECT_EQ(sink.messages[0].first, "fan");
    EXPECT_NE(sink.messages[0].second.find(decision_id), std::string::npos);
    EXPECT_NE(sink.messages[0].second.find("\"propensity\":"), std::string::npos);
}

TEST_F(http_api, unknown_users_get_a_cold_start_answer) {
    auto r = testing::http_get(port, "/v1/users/someone%20new/recommendations?k=40");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"cold_start\":true"), std::string::npos);
    EXPECT_NE(r.body.find("\"user_id\":\"someone new\""), std::string::npos);
    EXPECT_NE(r.body.find("\"reason\":\"popular\""), std::string::npos);
}

TEST_F(http_api, bad_k_is_a_400_with_a_json_error) {
    for (const char* k : {"-1", "0", "101", "1000000000000", "abc", "", "5x", "1.5"})
        expect_json_error(testing::http_get(port, std::string("/v1/users/fan/recommendations?k=") + k), 400,
                          "invalid_parameter");
    EXPECT_EQ(testing::http_get(port, "/v1/users/fan/recommendations?k=100").status, 200);
}

TEST_F(http_api, unknown_routes_and_methods_are_json_errors) {
    expect_json_error(testing::http_get(port, "/nope"), 404, "not_found");
    expect_json_error(testing::http_get(port, "/v1/users/fan/nope"), 404, "not_found");
    auto r = testing::http_request(port, "POST", "/v1/users/fan/recommendations", "{}");
    expect_json_error(r, 405, "method_not_allowed");
    EXPECT_EQ(r.headers["Allow"], "GET");
    r = testing::http_request(port, "DELETE", "/v1/users/fan");
    expect_json_error(r, 405, "method_not_allowed");
    EXPECT_EQ(r.headers["Allow"], "GET, HEAD");
    expect_json_error(testing::http_get(port, "/v1/users/%zz/recommendations"), 400, "bad_request");
}

TEST_F(http_api, oversized_requests_are_rejected_and_the_server_keeps_serving) {
    expect_json_error(testing::http_request(port, "POST", "/healthz", std::string(32 * 1024, 'x')), 413, "payload_too_large");
    auto huge_header = testing::raw_exchange(
        port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8192, 'a') + "\r\n\r\n");
    EXPECT_EQ(huge_header.rfind("HTTP/1.1 431", 0), 0u) << huge_header.substr(0, 80);
    auto garbage = testing::raw_exchange(port, "NOT HTTP AT ALL\r\n\r\n");
    EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage.substr(0, 80);
    EXPECT_EQ(testing::http_get(port, "/healthz").status, 200);
}

TEST_F(http_api, keep_alive_serves_pipelined_requests_in_order) {
    auto out = testing::raw_exchange(port,
                                     "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                     "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                                     "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto first = out.find("HTTP/1.1 200"), second = out.find("HTTP/1.1 404"), third = out.rfind("HTTP/1.1 200");
    ASSERT_NE(first, std::string::npos) << out;
    ASSERT_NE(second, std::string::npos) << out;
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
    EXPECT_NE(out.find("\"status\":\"ready\""), std::string::npos);
}

TEST_F(http_api, concurrent_clients_all_get_answers) {
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int c = 0; c < 8; ++c)
        clients.emplace_back([&, c] {
            for (int i = 0; i < 20; ++i)
                if (testing::http_get(port, "/v1/users/u" + std::to_string(c) + "/recommendations?k=4").status == 200) ++ok;
        });
    for (auto& t : clients) t.join();
    EXPECT_EQ(ok.load(), 160);
}

TEST_F(http_api, metrics_are_prometheus_text_and_count_requests) {
    testing::http_get(port, "/v1/users/fan/recommendations?k=abc");
    testing::http_get(port, "/v1/users/fan/recommendations?k=2");
    auto r = testing::http_get(port, "/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(r.body.find(R"(marquee_http_requests_total{code="400",route="/v1/users/{user_id}/recommendations"} 1)"),
              std::string::npos)
        << r.body;
    EXPECT_NE(r.body.find(R"(marquee_recommendations_served_total{policy="linucb"} 1)"), std::string::npos);
    EXPECT_NE(r.body.find("marquee_http_request_duration_seconds_bucket"), std::string::npos);
}

}  // namespace
}  // namespace marquee::serve
