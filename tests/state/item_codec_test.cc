// Item rows: catalog fields round-trip, and rows written before the catalog
// topic (format 1) still decode.
#include <gtest/gtest.h>

#include "state/codec.h"

namespace marquee::state {
namespace {

TEST(item_codec, catalog_fields_round_trip_and_format_1_rows_still_decode) {
    const float v[3] = {0.25f, -1.0f, 2.0f};
    engine::item_stats s;
    s.popularity.value = 3.5;
    s.popularity.ts_ms = 77;
    s.first_seen_ms = 1234;
    s.available = false;
    s.release_ms = -5;
    s.title = "Toy Story (1995)";
    s.genres = "Animation|Comedy";
    auto back = decode_item(encode_item(9, v, 3, s));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back.value().row, 9u);
    EXPECT_EQ(back.value().embedding, std::vector<float>(v, v + 3));
    EXPECT_FALSE(back.value().stats.available);
    EXPECT_EQ(back.value().stats.release_ms, -5);
    EXPECT_EQ(back.value().stats.title, s.title);
    EXPECT_EQ(back.value().stats.genres, s.genres);
    EXPECT_EQ(back.value().stats.first_seen_ms, 1234);

    const std::string good = encode_item(9, v, 3, s);
    for (std::size_t cut = 0; cut < good.size(); ++cut) EXPECT_FALSE(decode_item(good.substr(0, cut))) << cut;
    EXPECT_FALSE(decode_item(good + "x"));

    // Format 1: the same prefix, version byte 1, nothing after first_seen_ms.
    engine::item_stats plain;
    plain.first_seen_ms = 42;
    std::string v1 = encode_item(2, v, 3, plain);
    v1.resize(v1.size() - 1 - 8 - 4 - 4);
    v1[0] = 1;
    auto old = decode_item(v1);
    ASSERT_TRUE(old) << old.error().message;
    EXPECT_TRUE(old.value().stats.available) << "items from before the catalog are available";
    EXPECT_EQ(old.value().stats.release_ms, engine::unknown_release);
    EXPECT_EQ(old.value().stats.first_seen_ms, 42);
    EXPECT_TRUE(old.value().stats.title.empty());
}

}  // namespace
}  // namespace marquee::state
