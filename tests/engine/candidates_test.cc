// Candidate generation end to end through the learner: co-visitation
// candidates carry their reason, and a cold user's embedding moves after
// their first few events.
#include <gtest/gtest.h>

#include <set>

#include "engine/learner.h"
#include "engine/recommender.h"
#include "utils/event_builders.h"

namespace marquee::engine {
namespace {

using testing::like;

model_options options() {
    model_options o;
    o.mf.dim = 8;
    return o;
}

TEST(candidates, learner_pairs_a_like_with_the_recent_items_both_ways) {
    model m(options());
    learner l(m);
    touched t;
    user_state u;
    l.apply(like("u", "a", 1), u, nullptr, t);
    l.apply(like("u", "b", 2), u, nullptr, t);
    t.clear();
    l.apply(like("u", "c", 3), u, nullptr, t);
    const auto a = *m.items().find("a"), b = *m.items().find("b"), c = *m.items().find("c");
    auto nc = m.covisit().neighbours(c);
    ASSERT_EQ(nc.size(), 2u);
    EXPECT_EQ(m.covisit().neighbours(a).size(), 2u);
    EXPECT_TRUE(t.item_rows.contains(a) && t.item_rows.contains(b) && t.item_rows.contains(c))
        << "rows whose neighbours changed are persisted with the batch";
    // A dislike is not a co-visit.
    events::event d = like("u", "d", 4);
    d.type = events::event_type::dislike;
    l.apply(d, u, nullptr, t);
    EXPECT_TRUE(m.covisit().neighbours(*m.items().find("d")).empty());
}

TEST(candidates, a_like_pairs_only_with_the_window_of_recent_items_and_lists_stay_at_capacity) {
    auto o = options();
    o.covisit.window = 3;
    o.covisit.capacity = 4;
    model m(o);
    learner l(m);
    touched t;
    user_state u;
    for (int i = 0; i < 8; ++i) l.apply(like("u", "i" + std::to_string(i), i + 1), u, nullptr, t);
    const auto row = [&](int i) { return *m.items().find("i" + std::to_string(i)); };
    // i7 was liked after i4, i5, i6 (the window) and not paired with i0..i3.
    std::set<std::uint32_t> of_last;
    for (const auto& n : m.covisit().neighbours(row(7))) of_last.insert(n.row);
    EXPECT_EQ(of_last, (std::set<std::uint32_t>{row(4), row(5), row(6)}));
    // i4 pairs with i1..i3 before it and i5..i7 after it: six, kept to four.
    EXPECT_EQ(m.covisit().neighbours(row(4)).size(), 4u);
}

TEST(candidates, covisitation_candidates_say_because_you_watched) {
    model m(options());
    learner l(m);
    touched t;
    // Many users watch "x" then "y"; one user has just watched "x".
    for (int i = 0; i < 20; ++i) {
        user_state s;
        l.apply(like("v" + std::to_string(i), "x", 10), s, nullptr, t);
        l.apply(like("v" + std::to_string(i), "y", 11), s, nullptr, t);
    }
    for (int i = 0; i < 30; ++i) m.ensure_item("filler" + std::to_string(i), 5);
    user_state me;
    l.apply(like("me", "x", 20), me, nullptr, t);
    auto snap = take_snapshot(m, {}, nullptr);
    recommend_options o;
    o.slate.epsilon = 0.0;
    o.retrieval_n = 0;  // co-visitation, popular and new releases only
    auto list = recommend(*snap, &me, {"me", 40, "", 1}, o);
    bool found = false;
    for (const auto& r : list.items) {
        EXPECT_NE(r.item_id, "x") << "already watched";
        if (r.item_id == "y") {
            EXPECT_EQ(r.reason, "because_you_watched:x");
            EXPECT_EQ(r.source, "covisit");
            found = true;
        } else {
            EXPECT_NE(r.source, "covisit") << r.item_id;
        }
    }
    EXPECT_TRUE(found);
}

TEST(candidates, a_new_user_gets_popular_and_new_then_their_embedding_moves) {
    model m(options());
    learner l(m);
    touched t;
    for (int i = 0; i < 40; ++i) m.ensure_item("m" + std::to_string(i), 0);
    for (int i = 0; i < 20; ++i) {
        user_state s;
        for (int j = 0; j < 10; ++j) l.apply(like("v" + std::to_string(i), "m" + std::to_string(j), 100), s, nullptr, t);
    }
    recommend_options o;
    o.slate.epsilon = 0.3;  // exploration: every slot has propensity < 1
    user_state fresh;
    auto cold = recommend(*take_snapshot(m, {}, nullptr), &fresh, {"new", 5, "", 3}, o);
    EXPECT_TRUE(cold.cold_start);
    ASSERT_EQ(cold.items.size(), 5u);
    for (const auto& r : cold.items) {
        EXPECT_TRUE(r.source == "popular" || r.source == "new_release") << r.source;
        EXPECT_LT(r.propensity, 1.0);
        EXPECT_GT(r.propensity, 0.0);
    }

    // Each of the first events moves the user's vector and the user stops
    // being cold after the first one.
    std::vector<std::vector<float>> trail;
    for (int i = 20; i < 24; ++i) {
        l.apply(like("new", "m" + std::to_string(i), 200 + i), fresh, nullptr, t);
        ASSERT_EQ(fresh.embedding.size(), 8u);
        if (!trail.empty()) {
            EXPECT_NE(fresh.embedding, trail.back()) << "event " << i;
        }
        trail.push_back(fresh.embedding);
    }
    float norm = 0;
    for (float v : fresh.embedding) norm += v * v;
    EXPECT_GT(norm, 0.0f);
    // k covers every candidate, so the list shows which sources contributed.
    auto warm = recommend(*take_snapshot(m, {}, nullptr), &fresh, {"new", 40, "", 3}, o);
    EXPECT_FALSE(warm.cold_start);
    std::set<std::string_view> sources;
    for (const auto& r : warm.items) sources.insert(r.source);
    EXPECT_TRUE(sources.contains("embedding"));
}

}  // namespace
}  // namespace marquee::engine
