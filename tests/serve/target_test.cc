#include "serve/target.h"

#include <gtest/gtest.h>

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

TEST(target, rejects_malformed_escapes) {
    EXPECT_FALSE(parse_target("/a%2"));
    EXPECT_FALSE(parse_target("/a%zz"));
    EXPECT_FALSE(parse_target("/a?k=%"));
    EXPECT_FALSE(parse_target("relative"));
    EXPECT_FALSE(parse_target(""));
}

}  // namespace
}  // namespace marquee::serve
