#include "engine/recommender.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine/learner.h"
#include "utils/event_builders.h"

namespace marquee::engine {
namespace {

using testing::make_event;

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
                    if ((i / 2 + u) % 3 != 0) l.apply(make_event(events::event_type::like, "u" + std::to_string(u), "m" + std::to_string(i), ts), s, nullptr, t);
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
    for (int i = 0; i < 40; i += 4) w.l.apply(make_event(events::event_type::like, "me", "m" + std::to_string(i), 100 * day), u, nullptr, w.t);
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
            w.l.apply(make_event(events::event_type::like, "me", "m" + std::to_string(i), 100 * day), u, nullptr, w.t);
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

TEST(recommender, never_recommends_an_unavailable_item_from_any_source) {
    world w;
    user_state u;
    for (int rep = 0; rep < 5; ++rep)
        for (int i = 0; i < 12; i += 2)
            w.l.apply(make_event(events::event_type::like, "me", "m" + std::to_string(i), 100 * day), u, nullptr, w.t);
    auto before = ask(*w.snap(), &u, 10);
    ASSERT_FALSE(before.items.empty());
    // Withdraw everything this user was just shown, plus a new release and
    // the most popular item: each source has something to lose.
    std::set<std::string> gone;
    for (const auto& r : before.items) gone.insert(r.item_id);
    gone.insert("m40");
    gone.insert(w.m.items().id(w.snap()->popular.front()));
    for (const auto& id : gone) {
        events::catalog_item c;
        c.item_id = id;
        c.available = false;
        w.m.apply_catalog(c);
    }
    auto s = w.snap();
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        auto after = recommend(*s, &u, {"me", 20, "", seed}, recommend_options{});
        EXPECT_FALSE(after.items.empty());
        for (const auto& r : after.items) EXPECT_FALSE(gone.contains(r.item_id)) << r.item_id << " via " << r.reason;
    }
    for (auto row : s->popular) EXPECT_FALSE(gone.contains(s->index->ids[row]));
    for (auto row : s->new_releases) EXPECT_FALSE(gone.contains(s->index->ids[row]));
    auto cold = recommend(*s, nullptr, {"x", 20, "", 1}, recommend_options{});
    for (const auto& r : cold.items) EXPECT_FALSE(gone.contains(r.item_id)) << r.item_id;

    // Available again: back in the pool.
    events::catalog_item back;
    back.item_id = "m40";
    w.m.apply_catalog(back);
    auto again = w.snap();
    EXPECT_NE(std::find(again->new_releases.begin(), again->new_releases.end(), *again->index->find("m40")),
              again->new_releases.end());
}

TEST(recommender, a_catalog_item_is_a_new_release_before_any_event_and_release_time_wins_over_first_seen) {
    world w;
    events::catalog_item fresh;
    fresh.item_id = "brand-new";
    fresh.title = "Brand New (2026)";
    fresh.genres = {"Drama"};
    w.m.apply_catalog(fresh);
    events::catalog_item old_film;
    old_film.item_id = "classic";
    old_film.release_ms = 10 * day;  // released long before the model's now (100 days)
    w.m.apply_catalog(old_film);
    auto s = w.snap();
    const auto row = s->index->find("brand-new");
    ASSERT_TRUE(row);
    EXPECT_NE(std::find(s->new_releases.begin(), s->new_releases.end(), *row), s->new_releases.end());
    EXPECT_EQ(w.m.stats(*row).title, "Brand New (2026)");
    EXPECT_EQ(w.m.stats(*row).genres, "Drama");
    const auto classic = s->index->find("classic");
    ASSERT_TRUE(classic);
    EXPECT_EQ(std::find(s->new_releases.begin(), s->new_releases.end(), *classic), s->new_releases.end())
        << "first seen now, but released 90 days ago";
    bool offered = false;
    for (std::uint64_t seed = 0; seed < 50 && !offered; ++seed)
        for (const auto& r : recommend(*s, nullptr, {"x", 25, "", seed}, recommend_options{}).items)
            offered |= r.item_id == "brand-new" && r.source == "new_release";
    EXPECT_TRUE(offered) << "the new item is a new_release candidate";
}

TEST(recommender, an_item_released_after_the_models_now_is_not_new_until_its_release) {
    world w;  // the model's now: day 100
    events::catalog_item coming;
    coming.item_id = "coming-soon";
    coming.release_ms = 160 * day;  // announced for two months later (or a release_ts in microseconds)
    w.m.apply_catalog(coming);
    auto s = w.snap();
    const auto row = s->index->find("coming-soon");
    ASSERT_TRUE(row);
    EXPECT_EQ(std::find(s->new_releases.begin(), s->new_releases.end(), *row), s->new_releases.end());
    EXPECT_EQ(s->new_releases.size(), 5u) << "the five items released on day 100 keep their places";
    for (std::uint64_t seed = 0; seed < 20; ++seed)
        for (const auto& r : ask(*s, nullptr, 45, seed).items)
            if (r.item_id == "coming-soon") {
                EXPECT_NE(r.source, "new_release") << "seed " << seed;
            }
    // Once the clock passes its release, it is the newest release.
    user_state u;
    w.l.apply(make_event(events::event_type::like, "late", "m0", 161 * day), u, nullptr, w.t);
    auto later = w.snap();
    ASSERT_FALSE(later->new_releases.empty());
    EXPECT_EQ(later->new_releases.front(), *later->index->find("coming-soon"));
}

TEST(recommender, a_catalog_loaded_before_any_event_is_back_catalogue_until_its_first_event) {
    model_options o;
    o.mf.dim = 8;
    model m(o);
    for (const char* id : {"a", "b"}) {
        events::catalog_item c;
        c.item_id = id;
        m.apply_catalog(c);
    }
    EXPECT_TRUE(take_snapshot(m, {}, nullptr)->new_releases.empty()) << "a bulk load is not a wave of new releases";
    learner l(m);
    touched t;
    user_state u;
    l.apply(make_event(events::event_type::like, "u", "b", 500 * day), u, nullptr, t);
    auto s = take_snapshot(m, {}, nullptr);
    ASSERT_EQ(s->new_releases.size(), 1u);
    EXPECT_EQ(s->index->ids[s->new_releases.front()], "b") << "new from its first event, as without a catalog";
    const auto a = recommend(*s, nullptr, {"x", 5, "", 1}, recommend_options{});
    for (const auto& r : a.items) EXPECT_TRUE(r.features.allFinite()) << "no first-seen time must not overflow";

    // Later records for "a" (a title fix, a withdrawal and its undoing) do
    // not make it new: the catalog had it all along.
    events::catalog_item fix;
    fix.item_id = "a";
    fix.title = "A (fixed title)";
    m.apply_catalog(fix);
    fix.available = false;
    m.apply_catalog(fix);
    fix.available = true;
    m.apply_catalog(fix);
    // An item new to the model is new, unless it is the back catalogue a
    // fresh state reads after events moved the clock (a replica joining).
    events::catalog_item added, old_stock;
    added.item_id = "added";
    old_stock.item_id = "old-stock";
    m.apply_catalog(added);
    m.apply_catalog(old_stock, true);
    s = take_snapshot(m, {}, nullptr);
    std::set<std::string> fresh;
    for (auto row : s->new_releases) fresh.insert(s->index->ids[row]);
    EXPECT_EQ(fresh, (std::set<std::string>{"b", "added"}));
    EXPECT_EQ(m.stats(*s->index->find("a")).title, "A (fixed title)");
}

// Genres for the world's items: even rows "Comedy", odd "Drama", every
// third also "Horror"; the new releases are "Documentary".
void give_genres(world& w) {
    for (int i = 0; i < 45; ++i) {
        events::catalog_item c;
        c.item_id = "m" + std::to_string(i);
        if (i >= 40) c.genres = {"Documentary"};
        else c.genres = {i % 2 == 0 ? "Comedy" : "Drama"};
        if (i < 40 && i % 3 == 0) c.genres.push_back("Horror");
        w.m.apply_catalog(c);
    }
}

TEST(recommender, genres_and_exclusions_restrict_every_source) {
    world w;
    give_genres(w);
    auto s = w.snap();
    ASSERT_TRUE(s->index->genre_filter_of(std::vector<std::string>{"Horror"}));
    EXPECT_FALSE(s->index->genre_filter_of(std::vector<std::string>{"Western"})) << "not in the catalog";
    const std::vector<std::string> genres = {"Drama"};
    const std::vector<std::string> exclude = {"m1", "m3", "m5"};
    recommend_request rq{"x", 30, "", 1};
    rq.genres = genres;
    rq.exclude = exclude;
    auto list = recommend(*s, nullptr, rq, recommend_options{});
    ASSERT_FALSE(list.items.empty());
    for (const auto& r : list.items) {
        const int i = std::stoi(r.item_id.substr(1));
        EXPECT_TRUE(i < 40 && i % 2 == 1) << r.item_id << " is not Drama";
        EXPECT_TRUE(std::find(exclude.begin(), exclude.end(), r.item_id) == exclude.end()) << r.item_id;
    }
}

TEST(recommender, a_cold_user_asking_for_a_genre_gets_k_items_when_the_catalog_has_them) {
    // The snapshot's popular list (50) holds only comedies; the 60
    // documentaries are each liked once, so none of them is on it.
    model m{[] {
        model_options o;
        o.mf.dim = 8;
        return o;
    }()};
    learner l{m};
    touched t;
    for (int i = 0; i < 120; ++i) {
        events::catalog_item c;
        c.item_id = "i" + std::to_string(i);
        c.genres = {i < 60 ? "Comedy" : "Documentary"};
        m.apply_catalog(c);
    }
    for (int i = 0; i < 120; ++i)
        for (int u = 0; u < (i < 60 ? 5 : 1); ++u) {
            user_state s;
            l.apply(make_event(events::event_type::like, "u" + std::to_string(u), "i" + std::to_string(i), 100 * day), s,
                    nullptr, t);
        }
    auto s = take_snapshot(m, {}, nullptr);
    for (auto row : s->popular) ASSERT_LT(std::stoi(s->index->ids[row].substr(1)), 60) << "the list holds comedies only";
    const std::vector<std::string> genres = {"Documentary"};
    const std::vector<std::string> exclude = {"i60", "i61"};
    recommend_request rq{"x", 10, "", 1};
    rq.genres = genres;
    rq.exclude = exclude;
    recommend_options o;
    o.slate.epsilon = 0.0;
    auto list = recommend(*s, nullptr, rq, o);
    ASSERT_EQ(list.items.size(), 10u);
    std::set<std::string> ids;
    for (const auto& r : list.items) {
        const int i = std::stoi(r.item_id.substr(1));
        EXPECT_GE(i, 62) << r.item_id << " is a comedy or excluded";
        EXPECT_EQ(r.reason, "popular");
        ids.insert(r.item_id);
    }
    EXPECT_EQ(ids.size(), 10u);
}

// A genre mask has 64 bits; genres past the 63rd share the last one. The
// filter must still be exact for each of them.
TEST(recommender, the_genre_filter_is_exact_past_64_catalog_genres) {
    model m{[] {
        model_options o;
        o.mf.dim = 8;
        return o;
    }()};
    for (int i = 0; i < 66; ++i) {
        events::catalog_item c;
        c.item_id = "m" + std::to_string(i);
        c.genres = {"g" + std::to_string(i)};
        m.apply_catalog(c);
    }
    // Make the last items popular, so all of them are candidates.
    learner l{m};
    touched t;
    for (int u = 0; u < 5; ++u) {
        user_state s;
        for (int i = 58; i < 66; ++i)
            l.apply(make_event(events::event_type::like, "u" + std::to_string(u), "m" + std::to_string(i), day), s,
                    nullptr, t);
    }
    auto s = take_snapshot(m, {}, nullptr);
    ASSERT_EQ(s->index->genre_names.size(), 66u);
    auto only = [&](std::vector<std::string> genres) {
        recommend_request rq{"x", 20, "", 1};
        rq.genres = genres;
        std::set<std::string> ids;
        for (const auto& r : recommend(*s, nullptr, rq, recommend_options{}).items) ids.insert(r.item_id);
        return ids;
    };
    EXPECT_EQ(only({"g65"}), std::set<std::string>{"m65"});
    EXPECT_EQ(only({"g63"}), std::set<std::string>{"m63"});
    EXPECT_EQ(only({"g64"}), std::set<std::string>{"m64"});
    EXPECT_EQ(only({"g62", "g65"}), (std::set<std::string>{"m62", "m65"}));
    EXPECT_EQ(only({"g64", "g65"}), (std::set<std::string>{"m64", "m65"}));
    EXPECT_EQ(only({"g60"}), std::set<std::string>{"m60"});
}

TEST(recommender, the_request_chooses_the_policy_and_uniform_has_uniform_propensities) {
    world w;
    auto s = w.snap();
    recommend_options o;
    o.slate.epsilon = 0.0;
    recommend_request rq{"x", 3, "", 5};
    EXPECT_EQ(recommend(*s, nullptr, rq, o).policy, bandits::policy_kind::ucb) << "the configured default";
    rq.policy = bandits::policy_kind::uniform;
    auto list = recommend(*s, nullptr, rq, o);
    EXPECT_EQ(list.policy, bandits::policy_kind::uniform);
    EXPECT_EQ(to_pending(list, "x", 1).policy, bandits::policy_kind::uniform) << "rewards are credited to it";
    ASSERT_EQ(list.items.size(), 3u);
    // Slot j picks uniformly among the candidates the slots before it left.
    const double n = 1.0 / list.items[0].propensity;
    EXPECT_GT(n, 3.0);
    for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(list.items[j].propensity, 1.0 / (n - double(j)), 1e-12);
    rq.policy = bandits::policy_kind::thompson;
    for (const auto& r : recommend(*s, nullptr, rq, o).items) {
        EXPECT_GT(r.propensity, 0.0);
        EXPECT_LE(r.propensity, 1.0);
    }
}

TEST(recommender, a_genre_cap_keeps_slates_from_collapsing_into_one_genre) {
    world w;
    give_genres(w);
    user_state fan;  // of Comedy (the even items)
    for (int rep = 0; rep < 5; ++rep)
        for (int i = 0; i < 16; i += 2)
            w.l.apply(make_event(events::event_type::like, "me", "m" + std::to_string(i), 100 * day), fan, nullptr, w.t);
    auto s = w.snap();
    recommend_options o;
    o.slate.epsilon = 0.0;
    auto comedies = [&](const recommendation_list& list) {
        int n = 0;
        for (const auto& r : list.items) {
            const int i = std::stoi(r.item_id.substr(1));
            n += i < 40 && i % 2 == 0;
        }
        return n;
    };
    const int uncapped = comedies(recommend(*s, &fan, {"me", 6, "", 1}, o));
    o.slate.diversity.max_per_genre = 2;
    auto capped = recommend(*s, &fan, {"me", 6, "", 1}, o);
    ASSERT_EQ(capped.items.size(), 6u);
    EXPECT_LE(comedies(capped), 2);
    EXPECT_GT(uncapped, 2) << "the cap had something to do";
}

// What the serving path does: recommend, and record what was shown.
recommendation_list serve(const model_snapshot& s, const recommend_request& rq, const recommend_options& o,
                          exposure_tracker& shown) {
    auto list = recommend(s, nullptr, rq, o, &shown);
    shown.record(list.new_release_rows, rq.now_ms);
    return list;
}

TEST(recommender, the_exposure_floor_inserts_under_exposed_new_releases_until_they_reach_it) {
    world w;
    auto s = w.snap();
    recommend_options o;
    o.slate.epsilon = 0.0;
    o.exposure_floor.min_impressions_per_hour = 3;
    o.exposure_floor.first_slot = 1;
    exposure_tracker shown;
    recommend_request rq{"x", 4, "", 1};
    rq.now_ms = 1'000'000;
    auto first = recommend(*s, nullptr, rq, o, &shown);
    ASSERT_EQ(first.items.size(), 4u);
    EXPECT_TRUE(first.items[1].forced);
    EXPECT_TRUE(first.items[1].new_release);
    EXPECT_EQ(first.items[1].propensity, 1.0);
    // recommend only reads the tracker: a list may yet go unserved.
    const auto forced_row = *s->index->find(first.items[1].item_id);
    EXPECT_EQ(shown.impressions_per_hour(forced_row, rq.now_ms), 0.0);
    EXPECT_EQ(recommend(*s, nullptr, rq, o, &shown).items[1].item_id, first.items[1].item_id);
    // Its new_release_rows are the rows of exactly its new releases.
    std::vector<std::uint32_t> new_rows;
    for (const auto& r : first.items)
        if (r.new_release) new_rows.push_back(*s->index->find(r.item_id));
    EXPECT_EQ(first.new_release_rows, new_rows);
    shown.record(first.new_release_rows, rq.now_ms);
    EXPECT_GT(shown.impressions_per_hour(forced_row, rq.now_ms), 0.0);
    // Every new release gets its impressions; then nothing is forced.
    std::set<std::string> forced;
    int requests = 0;
    for (; requests < 200; ++requests) {
        bool any = false;
        for (const auto& r : serve(*s, rq, o, shown).items)
            if (r.forced) forced.insert(r.item_id), any = true;
        if (!any) break;
    }
    EXPECT_LT(requests, 200) << "the floor is reached";
    EXPECT_EQ(forced.size(), 5u) << "each of the five new releases was inserted";
    for (int i = 40; i < 45; ++i)
        EXPECT_GE(shown.impressions_per_hour(*s->index->find("m" + std::to_string(i)), rq.now_ms), 3.0 * 0.99);
    // Without the tracker there is no floor.
    for (const auto& r : recommend(*s, nullptr, rq, o).items) EXPECT_FALSE(r.forced);
}

TEST(recommender, the_exposure_floor_reaches_releases_beyond_the_newest_few_candidates) {
    // Two new-release candidates per request, five releases: under-exposed
    // ones are taken first, so the floor is not stuck on the newest two.
    world w;
    auto s = w.snap();
    recommend_options o;
    o.slate.epsilon = 0.0;
    o.new_release_n = 2;
    o.popular_n = 2;
    o.exposure_floor.min_impressions_per_hour = 3;
    exposure_tracker shown;
    recommend_request rq{"x", 2, "", 1};
    rq.now_ms = 1'000'000;
    for (int requests = 0; requests < 50; ++requests) serve(*s, rq, o, shown);
    for (int i = 40; i < 45; ++i)
        EXPECT_GE(shown.impressions_per_hour(*s->index->find("m" + std::to_string(i)), rq.now_ms), 3.0 * 0.99) << i;
}

TEST(recommender, the_exposure_floor_clamps_its_slot_to_a_short_slate) {
    model_options mo;
    mo.mf.dim = 8;
    mo.new_release_days = 30;
    model m(mo);
    m.ensure_item("old", 0);
    m.ensure_item("new", 100 * day);
    learner l(m);
    touched t;
    user_state u;
    l.apply(make_event(events::event_type::like, "u", "old", 100 * day), u, nullptr, t);
    auto s = take_snapshot(m, {}, nullptr);
    recommend_options o;
    o.slate.epsilon = 0.0;
    o.exposure_floor.min_impressions_per_hour = 3;
    o.exposure_floor.first_slot = 5;  // past the two candidates
    exposure_tracker shown;
    recommend_request rq{"x", 10, "", 1};
    rq.now_ms = 1'000'000;
    const auto list = recommend(*s, nullptr, rq, o, &shown);
    ASSERT_EQ(list.items.size(), 2u);
    EXPECT_EQ(list.items[1].item_id, "new");
    EXPECT_TRUE(list.items[1].forced) << "inserted at the last slot there is";
}

TEST(recommender, genre_match_and_time_of_day_reach_the_features) {
    world w;
    give_genres(w);
    user_state u;  // has watched two pure comedies (rows 2 and 4: even, not multiples of 3)
    for (const char* id : {"m2", "m4"}) w.l.apply(make_event(events::event_type::like, "me", id, 100 * day), u, nullptr, w.t);
    auto s = w.snap();
    recommend_request rq{"me", 30, "", 1};
    rq.now_ms = 18 * 3'600'000;  // 18:00 UTC
    recommend_options o;
    o.slate.epsilon = 0.0;
    auto list = recommend(*s, &u, rq, o);
    ASSERT_FALSE(list.items.empty());
    int comedy = 0, drama = 0;
    for (const auto& r : list.items) {
        const int i = std::stoi(r.item_id.substr(1));
        EXPECT_NEAR(r.features[9], -1.0, 1e-12) << "sin(2 pi 18/24)";
        if (i >= 40) continue;
        const bool is_comedy = i % 2 == 0;
        EXPECT_EQ(r.features[8], is_comedy ? 1.0 : 0.0) << r.item_id;
        ++(is_comedy ? comedy : drama);
    }
    EXPECT_GT(comedy, 0);
    EXPECT_GT(drama, 0);

    // A disliked drama (m1) is history, not taste: the match stays comedy's.
    w.l.apply(make_event(events::event_type::dislike, "me", "m1", 100 * day + 1), u, nullptr, w.t);
    for (const auto& r : recommend(*w.snap(), &u, rq, o).items) {
        const int i = std::stoi(r.item_id.substr(1));
        if (i < 40) {
            EXPECT_EQ(r.features[8], i % 2 == 0 ? 1.0 : 0.0) << r.item_id;
        }
    }
}

TEST(recommender, co_visitation_is_expanded_from_liked_history_only) {
    world w;  // every even item is co-liked with the others
    recommend_options o;
    o.slate.epsilon = 0.0;
    o.retrieval_n = o.popular_n = o.new_release_n = 0;
    auto covisit_reasons = [&](const user_state& u) {
        std::set<std::string> reasons;
        for (const auto& r : recommend(*w.snap(), &u, {"me", 20, "", 1}, o).items) reasons.insert(r.reason);
        return reasons;
    };
    user_state u;
    w.l.apply(make_event(events::event_type::dislike, "me", "m2", 100 * day), u, nullptr, w.t);
    EXPECT_TRUE(covisit_reasons(u).empty()) << "a disliked item seeds nothing";
    w.l.apply(make_event(events::event_type::rating, "me", "m4", 100 * day + 1, 4.5), u, nullptr, w.t);
    w.l.apply(make_event(events::event_type::rating, "me", "m6", 100 * day + 2, 1.0), u, nullptr, w.t);
    EXPECT_EQ(covisit_reasons(u), (std::set<std::string>{"because_you_watched:m4"}));
}

}  // namespace
}  // namespace marquee::engine
