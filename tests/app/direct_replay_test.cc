#include "app/direct_replay.h"

#include <gtest/gtest.h>

#include "state/store.h"
#include "utils/event_builders.h"
#include "utils/test_utils.h"

namespace marquee::app {
namespace {

TEST(direct_replay, applies_the_catalog_first_then_the_events_and_keeps_no_offsets) {
    testing::temp_dir dir;
    config c;
    c.state.path = dir.str();
    c.ingest.batch_max_messages = 2;  // several batches of each kind
    const std::vector<events::catalog_item> catalog = {
        {.item_id = "m1", .title = "Heat (1995)", .genres = {"Action", "Crime"}},
        {.item_id = "m2", .title = "Up (2009)", .genres = {"Animation"}},
        {.item_id = "m3", .title = "Gone (2012)", .genres = {"Thriller"}, .available = false},
    };
    std::vector<events::event> events;
    for (int i = 0; i < 5; ++i)
        events.push_back(testing::make_event(events::event_type::like, "u" + std::to_string(i % 2),
                                             i % 2 ? "m1" : "m2", 1000 + i));

    const auto counts = direct_replay(c, catalog, events);
    EXPECT_EQ(counts.catalog, 3u);
    EXPECT_EQ(counts.events, 5u);

    auto store = state::store::open(c.state).value();
    engine::model model(c.model);
    ASSERT_TRUE(store->load_model(model));
    const auto heat = model.items().find("m1");
    ASSERT_TRUE(heat);
    EXPECT_EQ(model.stats(*heat).title, "Heat (1995)");
    // Rows are numbered as items first appear: the catalog's order, though
    // the first event names m2.
    EXPECT_EQ(*heat, 0u);
    EXPECT_EQ(*model.items().find("m2"), 1u);
    EXPECT_EQ(*model.items().find("m3"), 2u);
    EXPECT_FALSE(model.stats(*model.items().find("m3")).available);
    EXPECT_EQ(store->get_user("u1").value()->events, 2u);
    EXPECT_TRUE(store->offsets().value().empty()) << "replay positions are in no Kafka topic";
    EXPECT_EQ(store->cluster_id().value(), "");

    // Without a catalog: only the events (`marquee state replay` without
    // --catalog, the checksum reference for a broker replay of events).
    testing::temp_dir other;
    c.state.path = other.str();
    EXPECT_EQ(direct_replay(c, {}, events).events, 5u);
}

}  // namespace
}  // namespace marquee::app
