#include "engine/recommender.h"

#include <gtest/gtest.h>

#include <set>

#include "engine/learner.h"

namespace marquee::engine {
namespace {

events::event make(events::event_type t, std::string user, std::string item, std::int64_t ts) {
    events::event e;
    e.type = t;
    e.user_id = std::move(user);
    e.item_id = std::move(item);
    e.ts_ms = ts;
    return e;
}

constexpr std::int64_t day = 86'400'000;

struct world {
    model m{[] {
        model_options o;
        o.mf.dim = 16;
        o.new_release_days = 30;
        return o;
    }()};
    learner l{m};
    touched t;
    user_state fan;  // likes even items

    world() {
        // 40 old items, then 5 released "now"; many users like the even ones.
        for (int i = 0; i < 40; ++i) m.ensure_item("m" + std::to_string(i), 0);
        for (int i = 40; i < 45; ++i) m.ensure_item("m" + std::to_string(i), 100 * day);
        std::int64_t ts = 100 * day;
        for (int u = 0; u < 30; ++u) {
            user_state s;
            for (int rep = 0; rep < 3; ++rep)
                for (int i = 0; i < 40; i += 2)
                    if ((i / 2 + u) % 3 != 0) l.apply(make(events::event_type::like, "u" + std::to_string(u), "m" + std::to_string(i), ts), s, nullptr, t);
        }
    }
    std::shared_ptr<const model_snapshot> snap() { return take_snapshot(m, {}, nullptr); }
};

recommendation_list ask(const model_snapshot& s, const user_state* u, int k, std::uint64_t seed = 1) {
    recommend_options o;
    o.slate.epsilon = 0.0;
    return recommend(s, u, {"x", k, "", seed}, o);
}

TEST(recommender, unknown_users_get_popular_and_new_items) {
    world w;
    auto s = w.snap();
    auto list = ask(*s, nullptr, 10);
    EXPECT_TRUE(list.cold_start);
    ASSERT_EQ(list.items.size(), 10u);
    std::set<std::string_view> reasons;
    for (const auto& r : list.items) reasons.insert(r.reason);
    EXPECT_FALSE(reasons.contains("embedding"));
    EXPECT_TRUE(reasons.contains("popular") || reasons.contains("new_release"));
}

TEST(recommender, never_recommends_what_the_user_has_seen) {
    world w;
    user_state u;
    for (int i = 0; i < 40; i += 4) w.l.apply(make(events::event_type::like, "me", "m" + std::to_string(i), 100 * day), u, nullptr, w.t);
    auto s = w.snap();
    auto list = ask(*s, &u, 20);
    EXPECT_FALSE(list.cold_start);
    ASSERT_EQ(list.items.size(), 20u);
    for (const auto& r : list.items) EXPECT_FALSE(u.has_seen(r.item_id)) << r.item_id;
}

TEST(recommender, the_users_events_change_the_ranking_toward_their_taste) {
    world w;
    user_state u;
    auto before = ask(*w.snap(), &u, 5);
    for (int rep = 0; rep < 5; ++rep)
        for (int i = 0; i < 12; i += 2)
            w.l.apply(make(events::event_type::like, "me", "m" + std::to_string(i), 100 * day), u, nullptr, w.t);
    auto after = ask(*w.snap(), &u, 5);
    std::vector<std::string> a, b;
    for (const auto& r : before.items) a.push_back(r.item_id);
    for (const auto& r : after.items) b.push_back(r.item_id);
    EXPECT_NE(a, b);
    int even = 0;
    for (const auto& r : after.items)
        if (std::stoi(r.item_id.substr(1)) % 2 == 0 && std::stoi(r.item_id.substr(1)) < 40) ++even;
    EXPECT_GE(even, 3) << "a fan of even items should mostly get even items";
}

TEST(recommender, is_deterministic_per_seed_and_reports_valid_propensities) {
    world w;
    auto s = w.snap();
    recommend_options o;
    o.slate.epsilon = 0.2;
    auto a = recommend(*s, nullptr, {"x", 8, "", 99}, o);
    auto b = recommend(*s, nullptr, {"x", 8, "", 99}, o);
    ASSERT_EQ(a.items.size(), b.items.size());
    for (std::size_t i = 0; i < a.items.size(); ++i) {
        EXPECT_EQ(a.items[i].item_id, b.items[i].item_id);
        EXPECT_GT(a.items[i].propensity, 0.0);
        EXPECT_LE(a.items[i].propensity, 1.0);
    }
    auto pending = to_pending(a, "x", 5);
    EXPECT_EQ(pending.items.size(), a.items.size());
    EXPECT_EQ(pending.items[0].features, a.items[0].features);
}

TEST(recommender, new_releases_leave_the_pool_after_the_window) {
    world w;
    auto s = w.snap();
    EXPECT_EQ(s->new_releases.size(), 5u);
    w.m.advance_clock(200 * day);
    auto later = take_snapshot(w.m, {}, s.get());
    EXPECT_TRUE(later->new_releases.empty());
    EXPECT_EQ(later->index, s->index) << "no new items: the id index is shared";
}

}  // namespace
}  // namespace marquee::engine
