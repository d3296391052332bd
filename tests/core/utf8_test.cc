#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace marquee::core {
namespace {

TEST(utf8, accepts_every_well_formed_length_and_the_edges_of_the_ranges) {
    for (const char* s : {"", "plain ascii", "\x7F", "\xC2\x80", "\xC3\xA9l\xC3\xA8ve", "\xDF\xBF", "\xE0\xA0\x80",
                          "\xED\x9F\xBF" /* U+D7FF */, "\xEE\x80\x80" /* U+E000 */, "\xEF\xBF\xBF",
                          "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF" /* U+10FFFF */, "a\xE2\x82\xAC" "b"})
        EXPECT_TRUE(valid_utf8(s)) << s;
}

TEST(utf8, refuses_stray_overlong_surrogate_out_of_range_and_truncated_sequences) {
    for (const char* s : {"\x80", "\xBF", "a\xFF", "\xFE", "\xC0\xAF", "\xC1\xBF", "\xE0\x9F\xBF", "\xF0\x8F\xBF\xBF",
                          "\xED\xA0\x80" /* U+D800 */, "\xED\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
                          "\xC3", "\xE2\x82", "\xF0\x90\x80", "\xC3(", "\xE2\x28\xA1", "\xF0\x90\x28\xBC"})
        EXPECT_FALSE(valid_utf8(s)) << s;
    EXPECT_FALSE(valid_utf8(std::string("a\0\xC3", 3)));
    EXPECT_TRUE(valid_utf8(std::string("a\0b", 3))) << "NUL is a code point";
}

}  // namespace
}  // namespace marquee::core
