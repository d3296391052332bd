#include "engine/learner.h"

#include <gtest/gtest.h>

#include <limits>

#include <cmath>

#include "utils/event_builders.h"

namespace marquee::engine {
namespace {

using testing::make_event;

model_options small() {
    model_options o;
    o.mf.dim = 8;
    o.history_size = 3;
    return o;
}

TEST(learner, updates_counters_history_popularity_and_embeddings) {
    model m(small());
    learner l(m);
    user_state u;
    touched t;
    for (int i = 0; i < 4; ++i) m.ensure_item("m" + std::to_string(i), 0);
    const auto row = *m.items().find("m1");
    l.apply(make_event(events::event_type::like, "u1", "m1", 1000), u, nullptr, t);
    ASSERT_EQ(u.embedding.size(), 8u);
    Eigen::Map<Eigen::VectorXf> uv(u.embedding.data(), 8);
    const float first = uv.dot(m.items().row(row));
    for (int i = 0; i < 10; ++i) l.apply(make_event(events::event_type::like, "u1", "m1", 2000 + i), u, nullptr, t);
    EXPECT_GT(uv.dot(m.items().row(row)), first);
    EXPECT_EQ(u.count(events::event_type::like), 11u);
    EXPECT_EQ(u.events, 11u);
    EXPECT_EQ(u.last_ts_ms, 2009);
    EXPECT_GT(m.stats(row).popularity.value, 0.0);
    EXPECT_TRUE(t.item_rows.contains(row));
    EXPECT_EQ(m.clock_ms(), 2009);

    // History is capped, oldest first out, and impressions are not history.
    for (int i = 0; i < 4; ++i) l.apply(make_event(events::event_type::watch, "u1", "m" + std::to_string(i), 3000, 0.9), u, nullptr, t);
    l.apply(make_event(events::event_type::impression, "u1", "m9", 3001), u, nullptr, t);
    EXPECT_EQ(u.recent, (std::vector<std::string>{"m1", "m2", "m3"}));
    EXPECT_EQ(u.recent_positive, (std::vector<std::uint8_t>{1, 1, 1}));

    // Each item keeps its latest response; a repeat moves to the end.
    l.apply(make_event(events::event_type::dislike, "u1", "m2", 3002), u, nullptr, t);
    l.apply(make_event(events::event_type::watch, "u1", "m3", 3003, 0.05), u, nullptr, t);  // a bounce
    EXPECT_EQ(u.recent, (std::vector<std::string>{"m1", "m2", "m3"}));
    EXPECT_EQ(u.recent_positive, (std::vector<std::uint8_t>{1, 0, 0}));
    l.apply(make_event(events::event_type::like, "u1", "m2", 3004), u, nullptr, t);
    EXPECT_EQ(u.recent, (std::vector<std::string>{"m1", "m3", "m2"}));
    EXPECT_EQ(u.recent_positive, (std::vector<std::uint8_t>{1, 0, 1}));
}

TEST(learner, a_user_vector_of_another_size_starts_again_at_this_size) {
    model m(small());
    learner l(m);
    touched t;
    user_state u;
    u.embedding.assign(2, 0.5f);  // as a store written with another model.mf.dim
    l.apply(make_event(events::event_type::like, "u1", "m1", 1000), u, nullptr, t);
    ASSERT_EQ(u.embedding.size(), std::size_t(small().mf.dim));
    for (float v : u.embedding) EXPECT_TRUE(std::isfinite(v));
}

TEST(learner, replaying_the_same_events_gives_identical_state) {
    auto run = [] {
        model m(small());
        learner l(m);
        user_state a, b;
        touched t;
        for (int i = 0; i < 200; ++i) {
            auto item = "m" + std::to_string(i % 17);
            l.apply(make_event(events::event_type::rating, "ua", item, i, (i % 10) / 2.0), a, nullptr, t);
            l.apply(make_event(events::event_type::watch, "ub", item, i, 0.7), b, nullptr, t);
        }
        return std::make_pair(m.items().data(), a.embedding);
    };
    EXPECT_EQ(run(), run());
}

TEST(learner, a_reward_updates_the_bandit_once_per_shown_item) {
    model m(small());
    learner l(m);
    user_state u;
    touched t;
    pending_decision d;
    d.user_id = "u1";
    d.items.push_back({"m1", bandits::feature_vector::Ones(), 0.9, false});
    d.items.push_back({"m2", bandits::feature_vector::Ones(), 0.1, false});

    auto click = make_event(events::event_type::click, "u1", "m1", 10);
    click.decision_id = "d1";
    EXPECT_EQ(l.apply(click, u, &d, t), reward_outcome::applied);
    EXPECT_TRUE(t.bandit);
    EXPECT_EQ(m.bandit().updates(), 1u);
    EXPECT_TRUE(d.items[0].rewarded);
    EXPECT_FALSE(d.items[1].rewarded);
    EXPECT_EQ(l.apply(click, u, &d, t), reward_outcome::already_rewarded);
    EXPECT_EQ(m.bandit().updates(), 1u);

    auto other = make_event(events::event_type::like, "u1", "m7", 11);
    other.decision_id = "d1";
    EXPECT_EQ(l.apply(other, u, &d, t), reward_outcome::unknown_item);

    auto impression = make_event(events::event_type::impression, "u1", "m2", 12);
    impression.decision_id = "d1";
    EXPECT_EQ(l.apply(impression, u, &d, t), reward_outcome::none);
    EXPECT_EQ(m.bandit().updates(), 1u);

    // Logged features the bandit refuses (not finite): counted as such, the
    // model unchanged, the item still unrewarded.
    d.items[1].features[2] = std::numeric_limits<double>::quiet_NaN();
    auto like = make_event(events::event_type::like, "u1", "m2", 13);
    like.decision_id = "d1";
    EXPECT_EQ(l.apply(like, u, &d, t), reward_outcome::rejected);
    EXPECT_EQ(m.bandit().updates(), 1u);
    EXPECT_TRUE(m.bandit().theta().allFinite());
    EXPECT_FALSE(d.items[1].rewarded);
}

TEST(learner, reward_values_follow_the_event) {
    EXPECT_EQ(reward_of(make_event(events::event_type::click, "u", "i", 0)), 1.0);
    EXPECT_EQ(reward_of(make_event(events::event_type::watch, "u", "i", 0, 0.4)), 0.4);
    EXPECT_EQ(reward_of(make_event(events::event_type::rating, "u", "i", 0, 4.0)), 0.8);
    EXPECT_EQ(reward_of(make_event(events::event_type::skip, "u", "i", 0)), 0.0);
    EXPECT_FALSE(reward_of(make_event(events::event_type::impression, "u", "i", 0)));
}

}  // namespace
}  // namespace marquee::engine
