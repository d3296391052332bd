#include "events/catalog_decoder.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "events/movielens.h"

namespace marquee::events {
namespace {

TEST(catalog_decoder, decodes_a_full_record) {
    catalog_decoder d;
    auto r = d.decode("m1", R"j({"item_id":"m1","title":"Toy Story (1995)","genres":["Animation","Comedy"],)j"
                            R"j("release_ts":817776000000,"available":true,"studio":{"ignored":[1,2]}})j");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value().item_id, "m1");
    EXPECT_EQ(r.value().title, "Toy Story (1995)");
    EXPECT_EQ(r.value().genres, (std::vector<std::string>{"Animation", "Comedy"}));
    EXPECT_EQ(r.value().release_ms, 817776000000);
    EXPECT_TRUE(r.value().available);
}

TEST(catalog_decoder, a_repeated_key_wins_whole_genres_included) {
    catalog_decoder d;
    auto r = d.decode("m1", R"j({"item_id":"m1","genres":["Drama"],"title":"a","genres":["Comedy"],"title":"b"})j");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value().genres, std::vector<std::string>{"Comedy"});
    EXPECT_EQ(r.value().title, "b");
}

TEST(catalog_decoder, optional_fields_default_to_available_with_no_release_time) {
    catalog_decoder d;
    auto r = d.decode("", R"j({"item_id":"m2"})j");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r.value().available);
    EXPECT_FALSE(r.value().release_ms);
    EXPECT_TRUE(r.value().genres.empty());
    auto off = d.decode("m3", R"j({"item_id":"m3","available":false,"release_ts":-86400000})j");
    ASSERT_TRUE(off) << off.error().message;
    EXPECT_FALSE(off.value().available);
    EXPECT_EQ(off.value().release_ms, -86400000) << "before 1970 is a real release date";
    auto as_float = d.decode("m4", R"j({"item_id":"m4","release_ts":8.1e11})j");
    ASSERT_TRUE(as_float) << "an integral number is an integer, as in JSON Schema: " << as_float.error().message;
    EXPECT_EQ(as_float.value().release_ms, 810'000'000'000);
}

TEST(catalog_decoder, a_tombstone_makes_the_item_unavailable) {
    catalog_decoder d;
    for (std::string_view payload : {std::string_view(), std::string_view("null")}) {
        auto r = d.decode("m9", payload);
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r.value().item_id, "m9");
        EXPECT_FALSE(r.value().available);
    }
    auto keyless = d.decode("", "");
    ASSERT_FALSE(keyless);
    EXPECT_EQ(keyless.error().reason, "empty");
}

TEST(catalog_decoder, a_null_tombstone_does_not_depend_on_the_records_decoded_before) {
    // simdjson 3.0.1's root null check reads one byte past "null ": the
    // answer used to depend on what an earlier record left in the buffer.
    for (std::string_view before : {std::string_view(), std::string_view("null  "),
                                    std::string_view("{\n    \"item_id\": \"m8\"}")}) {
        catalog_decoder d;
        if (!before.empty()) d.decode("m8", before);
        for (std::string_view payload : {"null ", "null\n", " null\r\n"}) {
            auto r = d.decode("m9", payload);
            ASSERT_TRUE(r) << "'" << payload << "' after '" << before << "': " << r.error().message;
            EXPECT_FALSE(r.value().available);
        }
        for (std::string_view payload : {"nullx", "null}", "nul", "null null"}) {
            auto r = d.decode("m9", payload);
            EXPECT_FALSE(r) << "'" << payload << "' after '" << before << "' is no tombstone";
        }
    }
}

TEST(catalog_decoder, rejects_invalid_records_with_a_reason) {
    catalog_decoder d({.max_event_bytes = 200, .max_id_bytes = 8});
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"malformed_json", R"j({"item_id":"m1")j"},
        {"malformed_json", R"j({"item_id":"m1"} x)j"},
        {"wrong_type", R"j([1,2])j"},
        {"missing_field", R"j({"title":"No id"})j"},
        {"wrong_type", R"j({"item_id":7})j"},
        {"wrong_type", R"j({"item_id":"m1","genres":"Comedy"})j"},
        {"wrong_type", R"j({"item_id":"m1","genres":[1]})j"},
        {"invalid_value", R"j({"item_id":"m1","genres":["A|B"]})j"},
        {"wrong_type", R"j({"item_id":"m1","release_ts":"1995"})j"},
        {"wrong_type", R"j({"item_id":"m1","release_ts":1.5})j"},
        // Microseconds (year ~55000), and the far ends of int64.
        {"invalid_value", R"j({"item_id":"m1","release_ts":1700000000000000})j"},
        {"invalid_value", R"j({"item_id":"m1","release_ts":-9223372036854775808})j"},
        {"invalid_value", R"j({"item_id":"m1","release_ts":9223372036854775807})j"},
        {"wrong_type", R"j({"item_id":"m1","available":"yes"})j"},
        {"wrong_type", R"j({"item_id":"m1","title":null})j"},
        {"invalid_value", R"j({"item_id":""})j"},
        {"invalid_value", R"j({"item_id":"much-too-long"})j"},
        {"too_large", std::string(300, ' ')},
    };
    for (const auto& [reason, payload] : bad) {
        auto r = d.decode("", payload);
        ASSERT_FALSE(r) << payload;
        EXPECT_EQ(r.error().reason, reason) << payload << ": " << r.error().message;
        EXPECT_FALSE(r.error().message.empty());
    }
    auto mismatch = d.decode("m2", R"j({"item_id":"m1"})j");
    ASSERT_FALSE(mismatch);
    EXPECT_EQ(mismatch.error().reason, "invalid_value");
}

TEST(catalog_decoder, unknown_fields_must_be_well_formed_json) {
    catalog_decoder d;
    for (const char* tail : {R"("studio":tru})", R"("studio":[1 2]})", R"("studio":{"a":[nul]}})",
                             R"("studio":"\x"})", R"("studio":1.})"}) {
        auto r = d.decode("", std::string(R"({"item_id":"m1",)") + tail);
        ASSERT_FALSE(r) << tail;
        EXPECT_EQ(r.error().reason, "malformed_json") << tail << ": " << r.error().message;
    }
    for (const char* tail : {R"("studio":true})", R"("studio":{"a":[null,1.5e3,"s",{}]}})", R"("n":-7})"}) {
        auto r = d.decode("", std::string(R"({"item_id":"m1",)") + tail);
        EXPECT_TRUE(r) << tail << ": " << (r ? "" : r.error().message);
    }
}

TEST(catalog_decoder, round_trips_its_own_encoding) {
    catalog_item item;
    item.item_id = "m\"1";
    item.title = "Se7en, \"the\" film";
    item.genres = {"Crime", "Thriller"};
    item.release_ms = 811987200000;
    item.available = false;
    catalog_decoder d;
    auto r = d.decode("m\"1", encode_json(item));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value().item_id, item.item_id);
    EXPECT_EQ(r.value().title, item.title);
    EXPECT_EQ(r.value().genres, item.genres);
    EXPECT_EQ(r.value().release_ms, item.release_ms);
    EXPECT_FALSE(r.value().available);
}

TEST(movielens, reads_movies_with_quoted_titles_and_no_release_time) {
    std::istringstream in(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        "11,\"American President, The (1995)\",Comedy|Drama|Romance\r\n"
        "12,\"Film \"\"Quoted\"\" (2000)\",Drama\n"
        "114335,La cravate (1957),(no genres listed)\n");
    auto r = read_movielens_movies(in);
    ASSERT_TRUE(r) << r.error().message;
    const auto& m = r.value();
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[0].item_id, "m1");
    EXPECT_EQ(m[0].title, "Toy Story (1995)");
    EXPECT_EQ(m[0].genres.size(), 5u);
    EXPECT_EQ(m[1].title, "American President, The (1995)");
    EXPECT_EQ(m[1].genres, (std::vector<std::string>{"Comedy", "Drama", "Romance"}));
    EXPECT_EQ(m[2].title, "Film \"Quoted\" (2000)");
    EXPECT_TRUE(m[3].genres.empty());
    for (const auto& item : m) {
        EXPECT_FALSE(item.release_ms) << "the year in the title is not a release date";
        EXPECT_TRUE(item.available);
    }
    std::istringstream no_header("1,Toy Story (1995),Comedy\n");
    EXPECT_FALSE(read_movielens_movies(no_header));
    std::istringstream unterminated("movieId,title,genres\n2,\"Open,Drama\n");
    EXPECT_FALSE(read_movielens_movies(unterminated));
}

TEST(movielens, reads_the_bundled_movies_file) {
    std::ifstream in(MARQUEE_SOURCE_DIR "/data/ml-latest-small/movies.csv");
    ASSERT_TRUE(in);
    auto r = read_movielens_movies(in);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value().size(), 9742u);
}

}  // namespace
}  // namespace marquee::events
