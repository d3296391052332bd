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
    // An infinite or NaN rating would poison every model it reaches.
    for (const char* rating : {"inf", "nan", "-1", "5.5"}) {
        std::istringstream out_of_range(std::string("userId,movieId,rating,timestamp\n1,10,") + rating + ",300\n");
        auto read = read_movielens_ratings(out_of_range);
        ASSERT_FALSE(read) << rating;
        EXPECT_NE(read.error().message.find("[0, 5]"), std::string::npos) << read.error().message;
    }
    // Numbers read only in part, and times before 1970 or beyond what
    // milliseconds hold (9.3e15 s used to wrap to a negative time).
    for (const char* row : {"1,10,4.5abc,300", "1,11,4,9.64982703e8", "1,14,0x1p2,100", "1,12,3,-5",
                            "1,13,2,9300000000000000", "1,15,4, 300"}) {
        std::istringstream in(std::string("userId,movieId,rating,timestamp\n") + row + "\n");
        EXPECT_FALSE(read_movielens_ratings(in)) << row;
    }
}

TEST(movielens, loads_files_keeping_the_first_ratings_and_names_the_file_on_errors) {
    const std::string dir = MARQUEE_SOURCE_DIR "/data/ml-latest-small";
    auto all = load_movielens_ratings(dir + "/ratings.csv");
    ASSERT_TRUE(all) << all.error().message;
    auto first = load_movielens_ratings(dir + "/ratings.csv", 100);
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_EQ(first.value().size(), 100u);
    ASSERT_GT(all.value().size(), 100u);
    for (std::size_t i = 0; i < 100; ++i) EXPECT_EQ(first.value()[i].item_id, all.value()[i].item_id);
    auto movies = load_movielens_movies(dir + "/movies.csv");
    ASSERT_TRUE(movies) << movies.error().message;
    EXPECT_GT(movies.value().size(), 9000u);

    auto missing = load_movielens_ratings(dir + "/nope.csv");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("nope.csv"), std::string::npos) << missing.error().message;
    auto wrong = load_movielens_movies(dir + "/ratings.csv");  // a file, but not movies
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().message.find("ratings.csv"), std::string::npos) << wrong.error().message;
}

}  // namespace
}  // namespace marquee::events
