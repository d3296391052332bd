#include "events/movielens.h"

#include <gtest/gtest.h>

#include <sstream>

namespace marquee::events {
namespace {

TEST(movielens, reads_ratings_sorted_by_time) {
    std::istringstream in("userId,movieId,rating,timestamp\n1,10,4.5,300\n2,20,1.0,100\r\n1,30,3.0,300\n");
    auto r = read_movielens_ratings(in);
    ASSERT_TRUE(r) << r.error().message;
    const auto& e = r.value();
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ(e[0].user_id, "u2");
    EXPECT_EQ(e[0].item_id, "m20");
    EXPECT_EQ(e[0].ts_ms, 100000);
    EXPECT_EQ(e[1].item_id, "m10");  // stable for equal times
    EXPECT_EQ(e[2].item_id, "m30");
    EXPECT_EQ(e[1].type, event_type::rating);
    EXPECT_DOUBLE_EQ(*e[1].value, 4.5);
}

TEST(movielens, rejects_bad_files) {
    std::istringstream no_header("1,10,4.5,300\n");
    EXPECT_FALSE(read_movielens_ratings(no_header));
    std::istringstream bad_row("userId,movieId,rating,timestamp\n1,10,x,300\n");
    EXPECT_FALSE(read_movielens_ratings(bad_row));
    std::istringstream short_row("userId,movieId,rating,timestamp\n1,10,4\n");
    EXPECT_FALSE(read_movielens_ratings(short_row));
}

}  // namespace
}  // namespace marquee::events
