// Co-visitation state goes to RocksDB with the batch that changed it and
// comes back on restart; it is part of the state checksum.
#include <gtest/gtest.h>

#include "engine/learner.h"
#include "state/store.h"
#include "utils/event_builders.h"
#include "utils/test_utils.h"

namespace marquee::state {
namespace {

using testing::like;

engine::model_options options() {
    engine::model_options o;
    o.mf.dim = 4;
    o.covisit.capacity = 3;
    return o;
}

// Applies the events and commits everything they touched in one write.
void apply_and_commit(store& s, engine::model& m, const std::vector<events::event>& events) {
    engine::learner l(m);
    engine::touched t;
    auto changes = s.begin();
    for (const auto& e : events) {
        auto stored = s.get_user(e.user_id);
        ASSERT_TRUE(stored);
        engine::user_state u = stored.value() ? *stored.value() : engine::user_state{};
        l.apply(e, u, nullptr, t);
        changes.put_user(e.user_id, u);
        // Users are re-read per event above, so commit per event too.
        for (auto row : t.item_rows) changes.put_item(m, row);
        t.clear();
        changes.put_offset({"events", 0, e.ts_ms + 1});
        ASSERT_TRUE(s.commit(changes));
    }
}

TEST(covisit_store, lists_survive_a_reopen_and_enter_the_checksum) {
    testing::temp_dir dir;
    std::vector<events::event> events;
    for (int u = 0; u < 6; ++u)
        for (int i = 0; i < 6; ++i) events.push_back(like("u" + std::to_string(u), "m" + std::to_string((u + i) % 8), u * 10 + i));

    engine::model before(options());
    std::uint64_t sum_before = 0;
    {
        auto s = store::open({.path = dir.str()});
        ASSERT_TRUE(s);
        apply_and_commit(*s.value(), before, events);
        auto sum = s.value()->checksum();
        ASSERT_TRUE(sum);
        sum_before = sum.value();
    }
    ASSERT_GT(before.covisit().entries(), 0u);

    auto s = store::open({.path = dir.str()});
    ASSERT_TRUE(s);
    engine::model after(options());
    ASSERT_TRUE(s.value()->load_model(after));
    ASSERT_EQ(after.items().size(), before.items().size());
    for (std::uint32_t r = 0; r < before.items().size(); ++r) {
        auto a = before.covisit().neighbours(r), b = after.covisit().neighbours(r);
        ASSERT_EQ(a.size(), b.size()) << "row " << r;
        EXPECT_LE(b.size(), 3u) << "bounded";
        for (std::size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].row, b[i].row);
            EXPECT_EQ(a[i].count, b[i].count);
            EXPECT_EQ(a[i].error, b[i].error);
        }
    }
    EXPECT_EQ(s.value()->offset("events", 0).value(), events.back().ts_ms + 1) << "same write as the offsets";

    auto reloaded = s.value()->checksum();
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(reloaded.value(), sum_before);
    // A change to co-visitation alone changes the checksum (it is state).
    after.covisit().add_pair(0, 1, 1.0f);
    auto changes = s.value()->begin();
    changes.put_covisit(after, 0);
    ASSERT_TRUE(s.value()->commit(changes));
    auto sum = s.value()->checksum();
    ASSERT_TRUE(sum);
    EXPECT_NE(sum.value(), sum_before);
}

}  // namespace
}  // namespace marquee::state
