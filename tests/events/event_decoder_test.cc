#include "events/event_decoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace marquee::events {
namespace {

// Received in 2030 unless said otherwise: after every "ts" below.
core::result<event> decode(std::string_view json, std::int64_t fallback = 1'900'000'000'000) {
    event_decoder d;
    return d.decode(json, fallback);
}

std::string_view reason(std::string_view json) {
    auto r = decode(json);
    EXPECT_FALSE(r) << json;
    return r ? std::string_view("<accepted>") : r.error().reason;
}

TEST(event_decoder, a_repeated_context_wins_whole) {
    auto r = decode(R"({"type":"click","user_id":"u1","item_id":"m1","ts":1,"context":{"device":"tv"},"context":{}})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value().device, "");
    auto again = decode(R"({"type":"click","user_id":"u1","item_id":"m1","ts":1,"user_id":"u2"})");
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again.value().user_id, "u2") << "as a repeated field";
}

TEST(event_decoder, decodes_every_field) {
    auto r = decode(R"({"type":"watch","user_id":"u1","item_id":"m42","ts":1700000000123,"value":0.8,
                        "decision_id":"d1","event_id":"e9","context":{"device":"tv","hour":3}})");
    ASSERT_TRUE(r) << r.error().message;
    const event& e = r.value();
    EXPECT_EQ(e.type, event_type::watch);
    EXPECT_EQ(e.user_id, "u1");
    EXPECT_EQ(e.item_id, "m42");
    EXPECT_EQ(e.ts_ms, 1700000000123);
    ASSERT_TRUE(e.value);
    EXPECT_DOUBLE_EQ(*e.value, 0.8);
    EXPECT_EQ(e.decision_id, "d1");
    EXPECT_EQ(e.event_id, "e9");
    EXPECT_EQ(e.device, "tv");
}

TEST(event_decoder, optional_fields_may_be_absent_and_ts_falls_back) {
    auto r = decode(R"({"type":"like","user_id":"u1","item_id":"m1"})", 777);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.value().ts_ms, 777);
    EXPECT_FALSE(r.value().value);
    EXPECT_TRUE(r.value().decision_id.empty());
    // A Kafka record without a timestamp (librdkafka gives -1) has no time
    // to lend: the event would have had ts -1.
    auto timeless = decode(R"({"type":"like","user_id":"u1","item_id":"m1"})", -1);
    ASSERT_FALSE(timeless);
    EXPECT_EQ(timeless.error().reason, "missing_field");
    EXPECT_TRUE(decode(R"({"type":"like","user_id":"u1","item_id":"m1","ts":5})", -1)) << "its own ts is enough";
}

TEST(event_decoder, every_event_type_round_trips_through_encode_json) {
    event_decoder d;
    for (std::size_t i = 0; i < event_type_count; ++i) {
        event e;
        e.type = static_cast<event_type>(i);
        e.user_id = "user \"quoted\" \\ \n";
        e.item_id = "m" + std::to_string(i);
        e.ts_ms = 1000 + std::int64_t(i);
        // Not short decimals: a reward posted over HTTP as 0.12345678 must reach Kafka as that.
        e.value = e.type == event_type::rating ? std::optional(4.123456789) : std::optional(0.12345678);
        e.decision_id = "dec";
        e.device = "phone";
        auto r = d.decode(encode_json(e), 0);
        ASSERT_TRUE(r) << encode_json(e) << ": " << r.error().message;
        EXPECT_EQ(r.value().type, e.type);
        EXPECT_EQ(r.value().user_id, e.user_id);
        EXPECT_EQ(r.value().item_id, e.item_id);
        EXPECT_EQ(r.value().ts_ms, e.ts_ms);
        EXPECT_EQ(r.value().value, e.value);
        EXPECT_EQ(r.value().device, e.device);
    }
}

TEST(event_decoder, rejects_malformed_json) {
    EXPECT_EQ(reason("{"), "malformed_json");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1",})"), "malformed_json");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1"} trailing)"), "malformed_json");
    EXPECT_EQ(reason("\xff\xfe"), "malformed_json");
    EXPECT_EQ(reason(""), "empty");
}

// simdjson On-Demand skips values it is not asked for without validating
// their scalars, so unknown fields are walked explicitly.
TEST(event_decoder, rejects_malformed_values_in_unknown_fields_and_context_keys) {
    const std::string head = R"({"type":"like","user_id":"u1","item_id":"m1",)";
    for (const char* tail : {R"("x":tru})", R"("x":nul})", R"("x":fals})", R"("x":truex})", R"("x":1.})",
                             R"("x":01})", R"("x":-})", R"("x":1e})", R"("x":+1})", R"("x":.5})", R"("x":0x10})",
                             R"("x":"bad \q escape"})", R"("x":"\ud800"})", R"("x":[1 2]})", R"("x":[1,]})",
                             R"("x":{"a":1,"b":[true,{"c":nulll}]}})", R"("x":{"a" 1}})", R"("x":{"a":}})",
                             R"("x":[[[[tru]]]]})", R"("x":{"\q":1}})", R"("x":undefined})",
                             R"("context":{"hour":[1 2]}})", R"("context":{"hour":tru}})",
                             R"("context":{"device":"tv","nested":{"a":[1,{"b":nope}]}}})",
                             R"("context":{"hour":1.2.3}})"})
        EXPECT_EQ(reason(head + tail), "malformed_json") << tail;
}

TEST(event_decoder, accepts_well_formed_unknown_fields_of_every_kind) {
    const std::string head = R"({"type":"like","user_id":"u1","item_id":"m1",)";
    for (const char* tail : {R"("x":true})", R"("x":false})", R"("x":null})", R"("x":-0.5e+10})", R"("x":0})",
                             R"("x":12345678901234567890123})", R"("x":1e400})", R"("x":"\u00e9\ud83d\ude00\n"})",
                             R"("x":[]})", R"("x":{}})", R"("x" : [ 1 , [ true , null ] , { "a" : { } } ] })",
                             R"("x":{"nested":{"deeper":[{"k":[false]}]}}, "y":"z"})",
                             R"("context":{"device":"tv","hour":3,"tags":["a","b"],"geo":{"lat":1.5,"ok":null}}})"}) {
        auto r = decode(head + tail);
        EXPECT_TRUE(r) << tail << ": " << (r ? "" : r.error().message);
    }
    auto r = decode(R"({"x":[1,{"y":null}],"type":"like","context":{"z":false,"device":"tv"},"user_id":"u1","item_id":"m1"})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value().device, "tv") << "fields after a walked value are still read";
    EXPECT_EQ(r.value().user_id, "u1");
}

TEST(event_decoder, unknown_fields_nest_at_most_64_levels_and_deeper_is_refused_without_recursing_on) {
    auto nested = [](int levels) {
        return R"({"type":"like","user_id":"u1","item_id":"m1","x":)" + std::string(std::size_t(levels), '[') +
               std::string(std::size_t(levels), ']') + "}";
    };
    EXPECT_TRUE(decode(nested(65))) << "the outermost array and 64 levels inside it";
    EXPECT_EQ(reason(nested(66)), "invalid_value");
    event_decoder d({.max_event_bytes = 1 << 20});
    auto deep = d.decode(nested(200'000), 0);
    ASSERT_FALSE(deep);
    EXPECT_EQ(deep.error().reason, "invalid_value") << deep.error().message;
}

TEST(event_decoder, an_integral_ts_may_be_written_as_a_float) {
    // JSON Schema's "integer" (the published schema's type for ts) is any
    // number with a zero fraction: what a producer serialising a float sends.
    for (std::string_view ts : {"1700000000123.0", "1.700000000123e12", "17000000001230e-1"}) {
        auto r = decode(R"({"type":"like","user_id":"u1","item_id":"m1","ts":)" + std::string(ts) + "}", 0);
        ASSERT_TRUE(r) << ts << ": " << r.error().message;
        EXPECT_EQ(r.value().ts_ms, 1'700'000'000'123) << ts;
    }
}

TEST(event_decoder, rejects_missing_fields) {
    EXPECT_EQ(reason(R"({"user_id":"u1","item_id":"m1"})"), "missing_field");
    EXPECT_EQ(reason(R"({"type":"watch","item_id":"m1"})"), "missing_field");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1"})"), "missing_field");
    EXPECT_EQ(reason(R"({"type":"rating","user_id":"u1","item_id":"m1"})"), "missing_field");
}

TEST(event_decoder, rejects_wrong_types) {
    EXPECT_EQ(reason(R"([1,2])"), "wrong_type");
    EXPECT_EQ(reason(R"({"type":1,"user_id":"u1","item_id":"m1"})"), "wrong_type");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":7,"item_id":"m1"})"), "wrong_type");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":"now"})"), "wrong_type");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":1.5})"), "wrong_type");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":1e17})"), "wrong_type") << "not exact";
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":1e400})"), "wrong_type");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1","value":"high"})"), "wrong_type");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1","context":[]})"), "wrong_type");
}

TEST(event_decoder, rejects_non_finite_numbers) {
    // JSON has no NaN or Infinity; an overflowing literal is not finite either.
    EXPECT_EQ(reason(R"({"type":"like","user_id":"u1","item_id":"m1","value":NaN})"), "invalid_value");
    EXPECT_EQ(reason(R"({"type":"like","user_id":"u1","item_id":"m1","value":Infinity})"), "invalid_value");
    EXPECT_EQ(reason(R"({"type":"like","user_id":"u1","item_id":"m1","value":-Infinity})"), "invalid_value");
    EXPECT_EQ(reason(R"({"type":"like","user_id":"u1","item_id":"m1","value":1e999})"), "invalid_value");
}

TEST(event_decoder, rejects_invalid_values) {
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"","item_id":"m1"})"), "invalid_value");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1","value":1.5})"), "invalid_value");
    EXPECT_EQ(reason(R"({"type":"rating","user_id":"u1","item_id":"m1","value":-1})"), "invalid_value");
    EXPECT_EQ(reason(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":-5})"), "invalid_value");
    std::string long_id(300, 'x');
    EXPECT_EQ(reason(R"({"type":"watch","user_id":")" + long_id + R"(","item_id":"m1"})"), "invalid_value");
}

TEST(event_decoder, rejects_a_ts_far_ahead_of_when_the_event_was_received) {
    constexpr std::int64_t received = 1'700'000'000'000;
    // Microseconds where milliseconds belong: 1700 years ahead.
    auto r = decode(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":1700000000000000})", received);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "invalid_value");
    EXPECT_NE(r.error().message.find("milliseconds"), std::string::npos) << r.error().message;
    // A day ahead is clock skew, not a unit error; a day and a millisecond is not.
    EXPECT_TRUE(decode(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":1700086400000})", received));
    EXPECT_FALSE(decode(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":1700086400001})", received));
    // No receive time (a record without a timestamp): nothing to bound by.
    EXPECT_TRUE(decode(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":1700000000000000})", -1));
    event_decoder lenient({.max_ts_ahead_ms = std::int64_t(1) << 62});
    EXPECT_TRUE(lenient.decode(R"({"type":"watch","user_id":"u1","item_id":"m1","ts":1700000000000000})", received));
}

TEST(event_decoder, rejects_unknown_types) {
    EXPECT_EQ(reason(R"({"type":"purchase","user_id":"u1","item_id":"m1"})"), "unknown_type");
}

TEST(event_decoder, rejects_oversized_payloads_unread) {
    std::string big = R"({"type":"watch","user_id":"u1","item_id":"m1","pad":")" + std::string(1 << 20, 'a') + "\"}";
    EXPECT_EQ(reason(big), "too_large");
}

TEST(event_decoder, decoder_is_reusable_after_errors) {
    event_decoder d;
    EXPECT_FALSE(d.decode("{", 0));
    EXPECT_FALSE(d.decode(std::string(100000, '['), 0));
    auto ok = d.decode(R"({"type":"click","user_id":"u2","item_id":"m3"})", 0);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok.value().user_id, "u2");
}

}  // namespace
}  // namespace marquee::events
