#include "serve/target.h"

#include <gtest/gtest.h>

#include "core/utf8.h"

namespace marquee::serve {
namespace {

TEST(target, splits_and_decodes_path_and_query) {
    auto t = parse_target("/v1/users/a%2Fb%20c/recommendations?k=10&device=smart+tv&flag");
    ASSERT_TRUE(t);
    EXPECT_EQ(t.value().segments, (std::vector<std::string>{"v1", "users", "a/b c", "recommendations"}));
    EXPECT_EQ(t.value().query("k"), "10");
    EXPECT_EQ(t.value().query("device"), "smart tv");
    EXPECT_EQ(t.value().query("flag"), "");
    EXPECT_FALSE(t.value().query("missing"));
}

TEST(target, a_list_parameter_splits_before_decoding_so_an_escaped_comma_stays_in_its_value) {
    auto t = parse_target("/r?exclude=a%2Cb,c,,d+e&genres=Action%2C%20Adventure&empty=");
    ASSERT_TRUE(t);
    EXPECT_EQ(t.value().query_list("exclude"), (std::vector<std::string>{"a,b", "c", "d e"}));
    EXPECT_EQ(t.value().query_list("genres"), (std::vector<std::string>{"Action, Adventure"}));
    EXPECT_EQ(t.value().query_list("empty"), std::vector<std::string>{});
    EXPECT_FALSE(t.value().query_list("missing"));
    EXPECT_EQ(t.value().query("exclude"), "a,b,c,,d e") << "the plain value is decoded whole";
}

TEST(target, keeps_empty_segments_so_an_empty_id_is_not_the_next_segment) {
    EXPECT_EQ(parse_target("/v1/users//recommendations").value().segments,
              (std::vector<std::string>{"v1", "users", "", "recommendations"}));
    EXPECT_EQ(parse_target("/v1/users/").value().segments, (std::vector<std::string>{"v1", "users", ""}));
    EXPECT_EQ(parse_target("/").value().segments, std::vector<std::string>{});
    EXPECT_EQ(parse_target("/healthz").value().segments, std::vector<std::string>{"healthz"});
}

TEST(target, accepts_the_absolute_form_as_proxies_send_it) {
    auto t = parse_target("http://localhost:8080/v1/items/m1/similar?k=3");
    ASSERT_TRUE(t);
    EXPECT_EQ(t.value().segments, (std::vector<std::string>{"v1", "items", "m1", "similar"}));
    EXPECT_EQ(t.value().query("k"), "3");
    EXPECT_EQ(parse_target("HTTPS://h/healthz").value().segments, std::vector<std::string>{"healthz"});
    EXPECT_EQ(parse_target("http://h").value().segments, std::vector<std::string>{});
    EXPECT_EQ(parse_target("http://h?k=1").value().query("k"), "1");
    EXPECT_FALSE(parse_target("ftp://h/healthz"));
}

TEST(target, refuses_a_parameter_given_twice) {
    auto t = parse_target("/v1/users/u/recommendations?exclude=a&exclude=b");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().reason, "bad_request");
    EXPECT_NE(t.error().message.find("exclude"), std::string::npos) << t.error().message;
    // A name that is not UTF-8 is not echoed: the message goes into a JSON body.
    auto binary = parse_target("/healthz?%FF=1&%FF=2");
    ASSERT_FALSE(binary);
    EXPECT_EQ(binary.error().reason, "bad_request");
    EXPECT_TRUE(core::valid_utf8(binary.error().message)) << binary.error().message;
}

TEST(target, rejects_malformed_escapes) {
    EXPECT_FALSE(parse_target("/a%2"));
    EXPECT_FALSE(parse_target("/a%zz"));
    EXPECT_FALSE(parse_target("/a?k=%"));
    EXPECT_FALSE(parse_target("relative"));
    EXPECT_FALSE(parse_target(""));
}

}  // namespace
}  // namespace marquee::serve
