#include "core/decision_id.h"

#include <gtest/gtest.h>

#include <set>

namespace marquee::core {
namespace {

TEST(decision_id, is_time_then_instance_tag_then_random_and_the_tag_reads_back) {
    const auto before = wall_clock_ms();
    const std::string a = new_decision_id(0x3f2a);
    const std::string b = new_decision_id(0x3f2a);
    ASSERT_EQ(a.size(), 32u);
    EXPECT_EQ(a.substr(12, 4), "3f2a");
    EXPECT_GE(std::stoll(a.substr(0, 12), nullptr, 16), before);
    EXPECT_LE(a.substr(0, 12), b.substr(0, 12)) << "ids sort by serving time";
    EXPECT_NE(a, b);
    EXPECT_EQ(decision_instance(a), 0x3f2a);
    EXPECT_EQ(decision_instance(new_decision_id(7)), 7);
    EXPECT_EQ(other_instance(a, 0x3f2b), 0x3f2a);
    EXPECT_FALSE(other_instance(a, 0x3f2a)) << "this instance's own id";
    EXPECT_FALSE(other_instance("d1", 0x3f2a)) << "not an id Marquee made";

    std::set<std::string> distinct;
    for (int i = 0; i < 10'000; ++i) distinct.insert(new_decision_id(1).substr(16));
    EXPECT_EQ(distinct.size(), 10'000u) << "the random part";
}

TEST(decision_id, ids_of_other_shapes_have_no_instance) {
    EXPECT_FALSE(decision_instance("d1"));
    EXPECT_FALSE(decision_instance(""));
    EXPECT_FALSE(decision_instance(std::string(31, 'a')));
    EXPECT_FALSE(decision_instance(std::string(33, 'a')));
    EXPECT_FALSE(decision_instance("0123456789ABcdef0123456789abcdef")) << "upper case is not ours";
    EXPECT_FALSE(decision_instance("0123456789abcdef0123456789abcdeg"));
    EXPECT_EQ(decision_instance("000000000000ffff0000000000000000"), 0xffff);
}

}  // namespace
}  // namespace marquee::core
