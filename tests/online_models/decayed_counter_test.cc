#include "online_models/decayed_counter.h"

#include <gtest/gtest.h>

namespace marquee::online_models {
namespace {

constexpr double hour = 3600e3;

TEST(decayed_counter, halves_every_half_life) {
    decayed_counter c;
    c.add(8.0, 0, hour);
    EXPECT_DOUBLE_EQ(c.at(0, hour), 8.0);
    EXPECT_DOUBLE_EQ(c.at(std::int64_t(hour), hour), 4.0);
    EXPECT_DOUBLE_EQ(c.at(std::int64_t(3 * hour), hour), 1.0);
}

TEST(decayed_counter, order_of_events_does_not_matter) {
    decayed_counter in_order, reversed;
    in_order.add(1.0, 0, hour);
    in_order.add(2.0, std::int64_t(2 * hour), hour);
    reversed.add(2.0, std::int64_t(2 * hour), hour);
    reversed.add(1.0, 0, hour);  // late event: decayed to the counter's time
    EXPECT_DOUBLE_EQ(in_order.at(std::int64_t(5 * hour), hour), reversed.at(std::int64_t(5 * hour), hour));
    EXPECT_DOUBLE_EQ(in_order.at(std::int64_t(2 * hour), hour), 2.25);
}

}  // namespace
}  // namespace marquee::online_models
