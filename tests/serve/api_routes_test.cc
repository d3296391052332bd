// Every route of the live API and its error paths, over a real socket.
#include <gtest/gtest.h>

#include <set>

#include "core/decision_id.h"
#include "core/wall_clock.h"
#include "events/event_decoder.h"
#include "serve/serve_fixture.h"
#include "stream/stream_fixtures.h"

namespace marquee::serve {
namespace {

namespace http = boost::beast::http;

using testing::item_ids;

const std::string rank_body =
    R"({"user_id":"fan","context":{"daypart":"night","temp":12.5},"k":2,)"
    R"("candidates":[{"id":"m40","features":{"genre":["comedy"]}},{"id":"x1","features":{"genre":["horror","thriller"],"len":1.5}},)"
    R"({"id":"x2","features":{"genre":"drama"}}]})";

// ---- recommendations: query parameters --------------------------------------

TEST_F(http_api, the_policy_parameter_picks_the_policy_and_is_reported_everywhere) {
    auto r = testing::http_get(port, "/v1/users/fan/recommendations?k=5&policy=thompson&explore=0.2");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"policy\":\"thompson\""), std::string::npos) << r.body;
    auto logged = sink.all();
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_NE(logged[0].second.find("\"policy\":\"thompson\""), std::string::npos);
    for (const char* p : {"linucb", "greedy", "epsilon_greedy", "uniform"}) {
        auto x = testing::http_get(port, std::string("/v1/users/fan/recommendations?k=3&policy=") + p);
        ASSERT_EQ(x.status, 200) << x.body;
        EXPECT_NE(x.body.find(std::string("\"policy\":\"") + p + "\""), std::string::npos) << x.body;
    }
    auto m = testing::http_get(port, "/metrics").body;
    EXPECT_NE(m.find(R"(marquee_recommendations_served_total{policy="thompson"} 1)"), std::string::npos) << m;
    EXPECT_NE(m.find(R"(marquee_recommendations_served_total{policy="uniform"} 1)"), std::string::npos);
    EXPECT_NE(m.find(R"(marquee_recommended_items_total{explored="false",policy="thompson",reason=)"),
              std::string::npos);
}

TEST_F(http_api, bad_policy_and_explore_values_are_400s) {
    for (const char* q : {"policy=ucb", "policy=", "explore=1.5", "explore=-0.1", "explore=abc", "explore=nan"})
        expect_json_error(testing::http_get(port, std::string("/v1/users/fan/recommendations?") + q), 400,
                          "invalid_parameter");
    auto r = testing::http_get(port, "/v1/users/fan/recommendations?policy=bogus");
    EXPECT_NE(r.body.find("linucb, thompson, greedy, epsilon_greedy, uniform"), std::string::npos) << r.body;
    EXPECT_EQ(testing::http_get(port, "/v1/users/fan/recommendations?explore=1").status, 200);
    EXPECT_EQ(testing::http_get(port, "/v1/users/fan/recommendations?explore=0").status, 200);
}

TEST_F(http_api, excluded_items_are_never_returned) {
    auto all = item_ids(testing::http_get(port, "/v1/users/fan/recommendations?k=20&policy=greedy").body);
    ASSERT_GE(all.size(), 3u);
    const std::string excluded = all[0] + "," + all[2];
    auto r = testing::http_get(port, "/v1/users/fan/recommendations?k=20&policy=greedy&exclude=" + excluded);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& id : item_ids(r.body)) {
        EXPECT_NE(id, all[0]);
        EXPECT_NE(id, all[2]);
    }
    // An escaped comma is part of one id ("a,b" is a valid item id), not a separator.
    auto one = testing::http_get(port, "/v1/users/fan/recommendations?k=20&policy=greedy&exclude=" + all[0] + "%2C" +
                                           all[2]);
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(item_ids(one.body), all) << "no item is named '" << all[0] << "," << all[2] << "'";
    std::string many;
    for (int i = 0; i <= 100; ++i) many += "x" + std::to_string(i) + ",";
    expect_json_error(testing::http_get(port, "/v1/users/fan/recommendations?exclude=" + many), 400,
                      "invalid_parameter");
}

TEST_F(http_api, genres_filter_and_unknown_genres_name_the_known_ones) {
    auto r = testing::http_get(port, "/v1/users/fan/recommendations?k=10&genres=Comedy");
    ASSERT_EQ(r.status, 200) << r.body;
    auto ids = item_ids(r.body);
    ASSERT_FALSE(ids.empty());
    for (const auto& id : ids) EXPECT_GE(std::stoi(id.substr(1)), 30) << id << " is not a comedy";
    auto bad = testing::http_get(port, "/v1/users/fan/recommendations?genres=Comedy,Western");
    expect_json_error(bad, 400, "invalid_parameter");
    EXPECT_NE(bad.body.find("Drama, Comedy"), std::string::npos) << bad.body;
}

TEST_F(http_api, the_exposure_floor_forces_under_exposed_new_releases_and_says_so) {
    api_options o;
    o.recommend.exposure_floor.min_impressions_per_hour = 1e9;  // every new release is under-exposed
    prometheus::Registry own;
    api floored(o, snapshots, *store, api_links{&sink, nullptr, nullptr}, own, [] { return true; });
    request req{http::verb::get, "/v1/users/fan/recommendations?k=5", 11};
    auto res = handle_now(floored, std::move(req));
    ASSERT_EQ(res.result_int(), 200) << res.body();
    EXPECT_NE(res.body().find("\"forced\":true"), std::string::npos) << res.body();
    EXPECT_NE(sink.all().back().second.find("\"forced\":true"), std::string::npos);
}

// ---- users and similar items ---------------------------------------------------

TEST_F(http_api, a_user_summary_shows_counts_and_latest_items_first) {
    auto r = testing::http_get(port, "/v1/users/fan");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"events\":30"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"like\":30"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"last_ts\":1029"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"recent\":[\"m29\",\"m28\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"recent_liked\":[true,true,"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"cold_start\":false"), std::string::npos) << r.body;
    EXPECT_EQ(item_ids(r.body).size(), 0u);
    expect_json_error(testing::http_get(port, "/v1/users/nobody"), 404, "not_found");
    auto head = testing::http_request(port, "HEAD", "/v1/users/fan");
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.headers["Content-Length"], std::to_string(r.body.size())) << "what GET would send";
    // Serving a list records a decision: not something a HEAD probe may do.
    auto list_head = testing::http_request(port, "HEAD", "/v1/users/fan/recommendations");
    EXPECT_EQ(list_head.status, 405);
    EXPECT_EQ(list_head.headers["Allow"], "GET");
    // An empty id is a 400, not the next segment taken for an id.
    expect_json_error(testing::http_get(port, "/v1/users//recommendations"), 400, "invalid_parameter");
    expect_json_error(testing::http_get(port, "/v1/items//similar"), 400, "invalid_parameter");
    expect_json_error(testing::http_get(port, "/v1/users/fan/recommendations?k=2&k=3"), 400, "bad_request");
    EXPECT_EQ(testing::http_get(port, "http://localhost/v1/users/fan").status, 200) << "absolute form";
}

TEST_F(http_api, a_list_whose_decision_cannot_be_recorded_is_a_503_not_an_unrewardable_200) {
    const auto shown = [&] {
        return std::pair{testing::metric_sum(registry, "marquee_recommended_items_total"),
                         testing::metric_sum(registry, "marquee_new_release_impressions_total")};
    };
    // A served list counts its items (the fan has seen only old items, so
    // new releases are among them)...
    ASSERT_EQ(testing::http_get(port, "/v1/users/fan/recommendations?k=3").status, 200);
    const auto served = shown();
    EXPECT_EQ(served.first, 3);
    EXPECT_GT(served.second, 0);
    const auto logged = sink.all().size();
    {
        testing::failing_file_writes disk_full;
        expect_json_error(testing::http_get(port, "/v1/users/fan/recommendations?k=3"), 503, "storage");
    }
    EXPECT_EQ(sink.all().size(), logged) << "nor is it logged to the decisions topic";
    // ...one refused does not: nobody saw it.
    EXPECT_EQ(shown(), served);
}

TEST_F(http_api, similar_items_never_include_the_item_itself_or_unavailable_items) {
    auto r = testing::http_get(port, "/v1/items/m40/similar?k=25");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body.rfind("{\"item_id\":\"m40\",", 0), 0u) << r.body;
    auto ids = item_ids(r.body.substr(r.body.find("\"items\":")));
    EXPECT_EQ(ids.size(), 25u);
    std::set<std::string> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), ids.size());
    EXPECT_FALSE(unique.count("m40"));
    EXPECT_FALSE(unique.count("m59"));
    EXPECT_NE(r.body.find("\"reason\":\"covisit\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"reason\":\"embedding\""), std::string::npos) << r.body;
    // Co-visitation neighbours come first.
    EXPECT_LT(r.body.find("\"reason\":\"covisit\""), r.body.find("\"reason\":\"embedding\""));
    expect_json_error(testing::http_get(port, "/v1/items/nope/similar"), 404, "not_found");
    expect_json_error(testing::http_get(port, "/v1/items/m40/similar?k=0"), 400, "invalid_parameter");
    expect_json_error(testing::http_request(port, "DELETE", "/v1/items/m40/similar"), 405, "method_not_allowed");
}

TEST_F(http_api, ids_in_paths_and_queries_must_be_utf8) {
    // Decoded from percent-escapes: an invalid sequence used to be echoed raw
    // (invalid JSON) and key a decision whose reward event the ingest's
    // decoder then refused, after a 202.
    for (const char* target : {"/v1/users/%FF/recommendations", "/v1/users/%FF", "/v1/users/a%ED%A0%80b/recommendations",
                               "/v1/users/%C0%AF", "/v1/users/%E2%82/recommendations", "/v1/items/%FF/similar",
                               "/v1/items/m1%F4%90%80%80/similar", "/v1/users/fan/recommendations?exclude=m1,%FF",
                               "/v1/users/fan/recommendations?genres=Comedy,%E2%82"}) {
        auto r = testing::http_get(port, target);
        expect_json_error(r, 400, "invalid_parameter");
        EXPECT_NE(r.body.find("UTF-8"), std::string::npos) << target << " -> " << r.body;
    }
    EXPECT_TRUE(sink.all().empty()) << "no decision was recorded";
    // Beast passes raw bytes above 0x7F in a target through; the 404 for an
    // unknown route must not echo them.
    auto raw = testing::raw_exchange(port, "GET /nothing\xFF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(raw.find("HTTP/1.1 404"), std::string::npos) << raw;
    EXPECT_EQ(raw.find('\xFF'), std::string::npos) << raw;

    // Valid UTF-8 is echoed as is, and its reward event decodes.
    auto rec = testing::http_get(port, "/v1/users/%C3%A9l%C3%A8ve/recommendations?k=2");
    ASSERT_EQ(rec.status, 200) << rec.body;
    EXPECT_NE(rec.body.find("\"user_id\":\"\xC3\xA9l\xC3\xA8ve\""), std::string::npos) << rec.body;
    auto reward = testing::http_request(port, "POST", "/v1/rewards",
                                        R"({"decision_id":")" + json_field(rec.body, "decision_id") +
                                            R"(","item_id":")" + item_ids(rec.body)[0] + R"(","reward":1})");
    ASSERT_EQ(reward.status, 202) << reward.body;
    ASSERT_EQ(events_sink.all().size(), 1u);
    events::event_decoder decoder;
    auto e = decoder.decode(events_sink.all()[0].second, 0);
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e.value().user_id, "\xC3\xA9l\xC3\xA8ve");
    EXPECT_EQ(testing::http_get(port, "/v1/users/%C3%A9l%C3%A8ve").status, 404) << "a valid id nobody knows";

    // Body ids are JSON strings: the parser refuses invalid UTF-8 in them.
    for (const char* item : {"\xFF", R"(\udcff)"})
        expect_json_error(testing::http_request(port, "POST", "/v1/rewards",
                                                R"({"decision_id":"d","item_id":")" + std::string(item) +
                                                    R"(","reward":1})"),
                          400, "invalid_body");
}

// ---- rank and rewards --------------------------------------------------------------

TEST_F(http_api, rank_answers_k_candidates_with_propensities) {
    auto r = testing::http_request(port, "POST", "/v1/rank", rank_body);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json_field(r.body, "decision_id").size(), 32u);
    EXPECT_NE(r.body.find("\"model_version\":0"), std::string::npos);
    EXPECT_NE(r.body.find("\"policy\":\"linucb\""), std::string::npos);
    auto ids = item_ids(r.body, "id");
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_NE(ids[0], ids[1]);
    EXPECT_NE(r.body.find("\"propensity\":"), std::string::npos);
    auto logged = sink.all();
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_EQ(logged[0].first, "fan");
    EXPECT_NE(logged[0].second.find("\"kind\":\"rank\""), std::string::npos);
    // Without setup: no user, no context, no features.
    auto bare = testing::http_request(port, "POST", "/v1/rank", R"({"candidates":[{"id":"a"},{"id":"b"}],"policy":"uniform"})");
    ASSERT_EQ(bare.status, 200) << bare.body;
    EXPECT_NE(bare.body.find("\"propensity\":0.5"), std::string::npos) << bare.body;
}

TEST_F(http_api, rank_rejects_bad_bodies_with_clear_400s) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "JSON object body"},
        {"{", "malformed JSON"},
        {"[1,2]", "must be a JSON object"},
        {"{}", "missing required field 'candidates'"},
        {R"({"candidates":{}})", "must be an array"},
        {R"({"candidates":[]})", "1 to 100"},
        {R"({"candidates":[1]})", "each candidate must be an object"},
        {R"({"candidates":[{"features":{}}]})", "missing required field 'id'"},
        {R"({"candidates":[{"id":"a"},{"id":"a"}]})", "appears twice"},
        {R"({"candidates":[{"id":"a","features":{"x":true}}]})", "a number, a string or a list of strings"},
        {R"({"candidates":[{"id":"a","features":{"x":[1]}}]})", "strings only"},
        {R"({"candidates":[{"id":"a"}],"k":2})", "k must be an integer from 1"},
        {R"({"candidates":[{"id":"a"}],"k":"1"})", "'k' must be an integer"},
        {R"({"candidates":[{"id":"a"}],"k":1.5})", "'k' must be an integer"},
        {R"({"candidates":[{"id":"a"}],"k":2.0})", "k must be an integer from 1"},
        {R"({"candidates":[{"id":"a"}],"policy":"best"})", "'policy' must be one of"},
        {R"({"candidates":[{"id":"a"}],"explore":2})", "explore must be a number in [0, 1]"},
        {R"({"candidates":[{"id":"a"}],"context":[]})", "context must be an object"},
        {R"({"candidates":[{"id":"a"}],"user_id":7})", "'user_id' must be a string"},
        {R"({"candidates":[{"id":"a"}],"extra":1})", "unknown field 'extra'"},
    };
    for (const auto& [body, message] : cases) {
        auto r = testing::http_request(port, "POST", "/v1/rank", body);
        expect_json_error(r, 400, "invalid_body");
        EXPECT_NE(r.body.find(message), std::string::npos) << body << " -> " << r.body;
    }
    std::string many = R"({"candidates":[{"id":"a","features":{"tags":[)";
    for (int i = 0; i < 65; ++i) many += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
    many += "]}}]}";
    expect_json_error(testing::http_request(port, "POST", "/v1/rank", many), 400, "invalid_body");
    expect_json_error(testing::http_request(port, "POST", "/v1/rank", rank_body, {{"Content-Type", "text/plain"}}),
                      415, "unsupported_media_type");
    EXPECT_EQ(testing::http_request(port, "POST", "/v1/rank", rank_body,
                                    {{"Content-Type", "application/json; charset=utf-8"}})
                  .status,
              200);
    auto get = testing::http_get(port, "/v1/rank");
    expect_json_error(get, 405, "method_not_allowed");
    EXPECT_EQ(get.headers["Allow"], "POST");
    expect_json_error(testing::http_request(port, "POST", "/v1/rank", std::string(20 * 1024, ' ')), 413,
                      "payload_too_large");
    // Answered by the server before any route: counted all the same.
    EXPECT_EQ(testing::metric_sum(registry, "marquee_http_requests_total", "code", "413"), 1);
}

TEST_F(http_api, a_rank_k_beyond_int64_is_the_same_400_as_any_huge_k) {
    // Boost.JSON holds integers above INT64_MAX as uint64, which
    // to_number<int64_t> refused by throwing (a 500).
    for (const char* k : {"1000001", "9223372036854775807", "9223372036854775808", "18446744073709551615",
                          "-9223372036854775808", "1e300", "-1e300"}) {
        auto r = testing::http_request(port, "POST", "/v1/rank", std::string(R"({"candidates":[{"id":"a"}],"k":)") + k + "}");
        expect_json_error(r, 400, "invalid_body");
        EXPECT_NE(r.body.find("k must be an integer from 1 to the number of candidates (1)"), std::string::npos)
            << k << " -> " << r.body;
    }
    EXPECT_EQ(testing::http_request(port, "POST", "/v1/rank", R"({"candidates":[{"id":"a"}],"k":1})").status, 200);
    EXPECT_EQ(testing::http_request(port, "POST", "/v1/rank", R"({"candidates":[{"id":"a"}],"k":1.0})").status, 200)
        << "an integer as JSON Schema reads one";
}

TEST_F(http_api, rank_rejects_non_finite_or_huge_feature_values_and_the_model_stays_finite) {
    // 1e400 parses as +inf; 1e200 is finite but overflows in the context x
    // candidate products and in the ridge update. Either used to reach the
    // shared model (NaN for every later score).
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"context":{"temp":1e400},"candidates":[{"id":"a","features":{"len":1}}]})", "'temp'"},
        {R"({"context":{"temp":-1e400},"candidates":[{"id":"a","features":{"len":1}}]})", "'temp'"},
        {R"({"context":{"temp":1e200},"candidates":[{"id":"a","features":{"len":1e200}}]})", "'temp'"},
        {R"({"context":{"temp":1},"candidates":[{"id":"a","features":{"len":1e200}}]})", "'len'"},
        {R"({"candidates":[{"id":"a","features":{"len":-1000.001}}]})", "'len'"},
    };
    for (const auto& [body, feature] : cases) {
        auto r = testing::http_request(port, "POST", "/v1/rank", body);
        expect_json_error(r, 400, "invalid_body");
        EXPECT_NE(r.body.find(feature), std::string::npos) << body << " -> " << r.body;
        EXPECT_NE(r.body.find("from -1000 to 1000"), std::string::npos) << "the bound served: " << r.body;
        if (r.status == 200)  // what a client would do next
            testing::http_request(port, "POST", "/v1/rewards",
                                  R"({"decision_id":")" + json_field(r.body, "decision_id") +
                                      R"(","item_id":"a","reward":1})");
    }
    auto ok = testing::http_request(port, "POST", "/v1/rank",
                                    R"({"context":{"temp":-1e3},"candidates":[{"id":"a","features":{"len":1e3}}]})");
    ASSERT_EQ(ok.status, 200) << "the bound itself is accepted: " << ok.body;
    EXPECT_NE(ok.body.find("\"model_version\":0"), std::string::npos) << ok.body;
    auto next = testing::http_request(port, "POST", "/v1/rank", rank_body);
    EXPECT_NE(next.body.find("\"model_version\":0"), std::string::npos) << next.body;
    EXPECT_EQ(next.body.find("null"), std::string::npos) << next.body;
}

TEST_F(http_api, a_rank_reward_is_applied_once_and_moves_the_model) {
    auto r = testing::http_request(port, "POST", "/v1/rank", rank_body);
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string id = json_field(r.body, "decision_id");
    const auto shown = item_ids(r.body, "id");
    const std::string reward = R"({"decision_id":")" + id + R"(","item_id":")" + shown[0] + R"(","reward":1})";
    auto first = testing::http_request(port, "POST", "/v1/rewards", reward);
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_NE(first.body.find("\"outcome\":\"applied\""), std::string::npos) << first.body;
    auto second = testing::http_request(port, "POST", "/v1/rewards", reward);
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_NE(second.body.find("\"outcome\":\"duplicate\""), std::string::npos) << second.body;
    auto next = testing::http_request(port, "POST", "/v1/rank", rank_body);
    EXPECT_NE(next.body.find("\"model_version\":1"), std::string::npos) << next.body;
    // Not shown in that decision (k = 2 of 3).
    std::string hidden;
    for (const char* c : {"m40", "x1", "x2"})
        if (std::find(shown.begin(), shown.end(), c) == shown.end()) hidden = c;
    expect_json_error(testing::http_request(port, "POST", "/v1/rewards",
                                            R"({"decision_id":")" + id + R"(","item_id":")" + hidden +
                                                R"(","reward":1})"),
                      404, "not_found");
    auto m = testing::http_get(port, "/metrics").body;
    EXPECT_NE(m.find(R"(marquee_rank_rewards_total{outcome="applied"} 1)"), std::string::npos) << m;
    EXPECT_NE(m.find(R"(marquee_rank_rewards_total{outcome="duplicate"} 1)"), std::string::npos);
    EXPECT_NE(sink.all().back().second.find("\"kind\":\"rank_reward\""), std::string::npos);
    EXPECT_TRUE(events_sink.all().empty()) << "rank rewards do not travel the events topic";
}

TEST_F(http_api, a_recommendation_reward_becomes_one_reward_event_keyed_by_the_user) {
    auto rec = testing::http_get(port, "/v1/users/fan/recommendations?k=3");
    ASSERT_EQ(rec.status, 200);
    const std::string id = json_field(rec.body, "decision_id"), item = item_ids(rec.body)[0];
    const std::string body = R"({"decision_id":")" + id + R"(","item_id":")" + item + R"(","reward":0.5})";
    auto r = testing::http_request(port, "POST", "/v1/rewards", body);
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_NE(r.body.find("\"status\":\"accepted\""), std::string::npos);
    ASSERT_EQ(testing::http_request(port, "POST", "/v1/rewards", body).status, 202);
    auto produced = events_sink.all();
    ASSERT_EQ(produced.size(), 2u);
    EXPECT_EQ(produced[0].first, "fan");
    const auto& e = produced[0].second;
    EXPECT_NE(e.find("\"type\":\"reward\""), std::string::npos) << e;
    EXPECT_NE(e.find("\"decision_id\":\"" + id + "\""), std::string::npos) << e;
    EXPECT_NE(e.find("\"item_id\":\"" + item + "\""), std::string::npos) << e;
    EXPECT_NE(e.find("\"value\":0.5"), std::string::npos) << e;
    EXPECT_FALSE(json_field(e, "event_id").empty()) << e;
    EXPECT_EQ(json_field(e, "event_id"), json_field(produced[1].second, "event_id")) << "a retry dedupes";
    expect_json_error(testing::http_request(port, "POST", "/v1/rewards",
                                            R"({"decision_id":")" + id + R"(","item_id":"nope","reward":1})"),
                      404, "not_found");
    EXPECT_EQ(core::decision_instance(id), store->instance_tag()) << "served decisions carry this instance's tag";

    // Another instance's decision: only it can apply the reward.
    const std::string theirs = core::new_decision_id(std::uint16_t(store->instance_tag() ^ 1));
    expect_json_error(testing::http_request(port, "POST", "/v1/rewards",
                                            R"({"decision_id":")" + theirs + R"(","item_id":"m1","reward":1})"),
                      421, "other_instance");
    const std::string unknown_of_ours = core::new_decision_id(store->instance_tag());
    expect_json_error(testing::http_request(port, "POST", "/v1/rewards",
                                            R"({"decision_id":")" + unknown_of_ours + R"(","item_id":"m1","reward":1})"),
                      404, "not_found");
    EXPECT_EQ(events_sink.all().size(), 2u) << "neither travels the events topic";
    // Every reward was offered to the rank service first; none was a rank
    // decision, so none counts as a rank reward of any outcome.
    const auto m = testing::http_get(port, "/metrics").body;
    EXPECT_EQ(m.find("marquee_rank_rewards_total{outcome=\"unknown_decision\"}"), std::string::npos) << m;
    EXPECT_NE(m.find(R"(marquee_rank_rewards_total{outcome="applied"} 0)"), std::string::npos) << m;
}

TEST_F(http_api, reward_errors_are_json) {
    expect_json_error(testing::http_request(port, "POST", "/v1/rewards",
                                            R"({"decision_id":"feedfeed","item_id":"m1","reward":1})"),
                      404, "not_found");
    for (const char* body : {R"({"item_id":"m1","reward":1})", R"({"decision_id":"d","reward":1})",
                             R"({"decision_id":"d","item_id":"m1"})", R"({"decision_id":"d","item_id":"m1","reward":2})",
                             R"({"decision_id":"d","item_id":"m1","reward":"1"})", R"({"decision_id":"","item_id":"m1","reward":1})",
                             "nope"})
        expect_json_error(testing::http_request(port, "POST", "/v1/rewards", body), 400, "invalid_body");
    expect_json_error(testing::http_get(port, "/v1/rewards"), 405, "method_not_allowed");
}

// ---- events --------------------------------------------------------------------------

TEST_F(http_api, a_valid_event_is_produced_unchanged_keyed_by_user) {
    const std::string e = R"({"type":"like","user_id":"alice","item_id":"m3","ts":1700000000000})";
    auto r = testing::http_request(port, "POST", "/v1/events", e);
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_NE(r.body.find("\"type\":\"like\""), std::string::npos);
    auto produced = events_sink.all();
    ASSERT_EQ(produced.size(), 1u);
    EXPECT_EQ(produced[0].first, "alice");
    EXPECT_EQ(produced[0].second, e);
}

TEST_F(http_api, invalid_events_get_the_decoders_reason) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"type":"like","item_id":"m3"})", "missing_field"},
        {R"({"type":"teleport","user_id":"a","item_id":"m3"})", "unknown_type"},
        {R"({"type":"rating","user_id":"a","item_id":"m3","value":9})", "invalid_value"},
        {R"({"type":"like","user_id":"a")", "malformed_json"},
        {"", "empty"},
    };
    for (const auto& [body, reason] : cases) {
        auto r = testing::http_request(port, "POST", "/v1/events", body);
        expect_json_error(r, 400, "invalid_event");
        EXPECT_NE(r.body.find("\"message\":\"" + reason), std::string::npos) << body << " -> " << r.body;
    }
    EXPECT_TRUE(events_sink.all().empty());
    expect_json_error(testing::http_request(port, "POST", "/v1/events", "type=like",
                                            {{"Content-Type", "application/x-www-form-urlencoded"}}),
                      415, "unsupported_media_type");
}

TEST_F(http_api, an_event_with_a_malformed_unknown_field_is_a_400_and_is_not_produced) {
    // The body is produced as sent, so it must be JSON throughout, also where
    // the decoder reads nothing.
    for (const char* body : {R"({"type":"like","user_id":"u1","item_id":"m1","x":tru})",
                             R"({"type":"like","user_id":"u1","item_id":"m1","context":{"hour":[1 2]}})"}) {
        auto r = testing::http_request(port, "POST", "/v1/events", body);
        expect_json_error(r, 400, "invalid_event");
        EXPECT_NE(r.body.find("\"message\":\"malformed_json"), std::string::npos) << body << " -> " << r.body;
    }
    EXPECT_TRUE(events_sink.all().empty());
    auto ok = testing::http_request(port, "POST", "/v1/events",
                                    R"({"type":"like","user_id":"u1","item_id":"m1","x":true,"context":{"hour":[1,2]}})");
    EXPECT_EQ(ok.status, 202) << ok.body;
}

TEST_F(http_api, posted_events_are_validated_with_the_ingests_decoder_settings) {
    // What the ingest would dead-letter is refused at the door.
    api_options o;
    o.events.max_event_bytes = 80;
    o.events.max_ts_ahead_ms = 60'000;
    prometheus::Registry own;
    api strict(o, snapshots, *store, api_links{nullptr, &events_sink, nullptr}, own, [] { return true; });
    auto post = [&](std::string body) {
        request req{http::verb::post, "/v1/events", 11};
        req.set(http::field::content_type, "application/json");
        req.body() = std::move(body);
        req.prepare_payload();
        return handle_now(strict, std::move(req));
    };
    const std::string in_an_hour = std::to_string(core::wall_clock_ms() + 3'600'000);
    auto ahead = post(R"({"type":"like","user_id":"u1","item_id":"m1","ts":)" + in_an_hour + "}");
    EXPECT_EQ(ahead.result_int(), 400) << ahead.body();
    EXPECT_NE(ahead.body().find("invalid_value"), std::string::npos) << ahead.body();
    auto large = post(R"({"type":"like","user_id":"u1","item_id":"m1","pad":")" + std::string(100, 'x') + "\"}");
    EXPECT_EQ(large.result_int(), 400) << large.body();
    EXPECT_NE(large.body().find("too_large"), std::string::npos) << large.body();
    EXPECT_TRUE(events_sink.all().empty());
    EXPECT_EQ(post(R"({"type":"like","user_id":"u1","item_id":"m1"})").result_int(), 202);
}

TEST_F(http_api, a_recommendation_reward_the_ingest_would_refuse_is_refused_not_accepted) {
    // It used to be answered 202 and then dead-lettered (too_large) by the
    // ingest: a reward lost after the client was told it was safe.
    auto rec = testing::http_get(port, "/v1/users/fan/recommendations?k=1");
    ASSERT_EQ(rec.status, 200);
    const std::string body = R"({"decision_id":")" + json_field(rec.body, "decision_id") + R"(","item_id":")" +
                             item_ids(rec.body)[0] + R"(","reward":1})";
    api_options o;
    o.events.max_event_bytes = 100;  // a reward event is about 170 bytes
    prometheus::Registry own;
    capture_sink events;
    api strict(o, snapshots, *store, api_links{nullptr, &events, nullptr}, own, [] { return true; });
    request req{http::verb::post, "/v1/rewards", 11};
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    auto res = handle_now(strict, std::move(req));
    EXPECT_EQ(res.result_int(), 400) << res.body();
    EXPECT_NE(res.body().find("\"code\":\"invalid_event\""), std::string::npos) << res.body();
    EXPECT_NE(res.body().find("too_large"), std::string::npos) << res.body();
    EXPECT_TRUE(events.all().empty());
    EXPECT_EQ(testing::http_request(port, "POST", "/v1/rewards", body).status, 202) << "the default limit takes it";
}

TEST_F(http_api, without_an_events_topic_posting_events_is_a_503) {
    prometheus::Registry own;
    api bare(api_options{}, snapshots, *store, api_links{}, own, [] { return true; });
    request req{http::verb::post, "/v1/events", 11};
    req.body() = R"({"type":"like","user_id":"alice","item_id":"m3"})";
    auto res = handle_now(bare, std::move(req));
    EXPECT_EQ(res.result_int(), 503);
    EXPECT_NE(res.body().find("\"code\":\"unavailable\""), std::string::npos);
}

// ---- connections ---------------------------------------------------------------------

TEST_F(http_api, one_keep_alive_connection_serves_every_route) {
    testing::http_connection c(port);
    EXPECT_EQ(c.request("GET", "/healthz").status, 200);
    auto rec = c.request("GET", "/v1/users/fan/recommendations?k=2");
    EXPECT_EQ(rec.status, 200);
    auto ranked = c.request("POST", "/v1/rank", rank_body);
    ASSERT_EQ(ranked.status, 200);
    EXPECT_EQ(c.request("POST", "/v1/rewards",
                        R"({"decision_id":")" + json_field(ranked.body, "decision_id") + R"(","item_id":")" +
                            item_ids(ranked.body, "id")[0] + R"(","reward":1})")
                  .status,
              200);
    EXPECT_EQ(c.request("POST", "/v1/rank", "{").status, 400) << "an error keeps the connection";
    EXPECT_EQ(c.request("GET", "/v1/users/fan").status, 200);
    EXPECT_EQ(c.request("GET", "/v1/items/m3/similar?k=2").status, 200);
    EXPECT_EQ(c.request("POST", "/v1/events", R"({"type":"click","user_id":"bob","item_id":"m3"})").status, 202);
    EXPECT_EQ(c.request("GET", "/metrics").status, 200);
    EXPECT_EQ(c.requests(), 9);
}

TEST_F(http_api, pipelined_posts_are_answered_in_order) {
    const std::string rank = "POST /v1/rank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(rank_body.size()) + "\r\n\r\n" + rank_body;
    const std::string bad = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    auto out = testing::raw_exchange(port, rank + bad + "GET /v1/users/fan HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto first = out.find("HTTP/1.1 200"), second = out.find("HTTP/1.1 400"), third = out.rfind("HTTP/1.1 200");
    ASSERT_NE(first, std::string::npos) << out;
    ASSERT_NE(second, std::string::npos) << out;
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
    EXPECT_LT(out.find("\"decision_id\""), second);
    EXPECT_GT(out.find("\"user_id\":\"fan\",\"events\":30"), second);
}

}  // namespace
}  // namespace marquee::serve
