// Ingestion against librdkafka's in-process Kafka-protocol broker, with the
// real engine (RocksDB on disk, HTTP on loopback).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "app/engine_host.h"
#include "events/catalog_decoder.h"
#include "state/store.h"
#include "stream/embedded_broker.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

namespace marquee {
namespace {

using namespace std::chrono_literals;

class ingest : public ::testing::Test {
protected:
    void SetUp() override {
        spdlog::set_level(spdlog::level::warn);
        testing::create_engine_topics(broker, 4);
    }

    app::config settings() { return testing::engine_config(broker.bootstrap(), dir.str()); }
    static double applied(app::engine_host& h) { return testing::metric_sum(h.registry(), "marquee_events_applied_total"); }

    // Users' counters as stored, compared with what was produced.
    void expect_exactly_once(const testing::tally& produced) {
        auto s = state::store::open({.path = dir.str()});
        ASSERT_TRUE(s) << s.error().message;
        std::size_t users = 0;
        for (const auto& [user, counts] : produced) {
            auto u = s.value()->get_user(user);
            ASSERT_TRUE(u && u.value()) << user;
            EXPECT_EQ(u.value()->counts, counts) << "user " << user;
            ++users;
        }
        EXPECT_EQ(users, produced.size());
    }

    stream::embedded_broker broker;
    testing::temp_dir dir;
};

TEST_F(ingest, every_event_is_applied_exactly_once_across_a_restart_mid_stream) {
    constexpr int total = 30000;
    const auto events = testing::synthetic_events(100, 500, total, 1);
    const std::vector first(events.begin(), events.begin() + 2000), rest(events.begin() + 2000, events.end());
    testing::produce_events(broker.bootstrap(), "marquee.events", first);
    double applied_by_a = 0;
    {
        auto c = settings();
        c.ingest.batch_max_messages = 50;  // many small commits: a stop lands mid-stream
        app::engine_host a(c);
        ASSERT_TRUE(testing::wait_until([&] { return testing::metric_sum(a.registry(), "marquee_events_applied_total") >= 1000; }, 30s));
        // More arrives while it runs; stop it in the middle of consuming.
        testing::produce_events(broker.bootstrap(), "marquee.events", rest);
        ASSERT_TRUE(a.shutdown());
        applied_by_a = testing::metric_sum(a.registry(), "marquee_events_applied_total");
    }
    ASSERT_LT(applied_by_a, total) << "a finished the stream: the restart was not mid-stream";
    {
        app::engine_host b(settings());
        // b resumes exactly where a's last committed batch ended.
        ASSERT_TRUE(testing::wait_until([&] {
            return testing::metric_sum(b.registry(), "marquee_events_applied_total") >= total - applied_by_a;
        }, 30s));
        std::this_thread::sleep_for(500ms);  // room for any double application to show
        EXPECT_EQ(testing::metric_sum(b.registry(), "marquee_events_applied_total"), total - applied_by_a);
    }
    expect_exactly_once(testing::count_by_user(events));
}

TEST_F(ingest, two_members_of_one_group_apply_every_event_exactly_once_between_them) {
    testing::temp_dir dir_b;
    const auto events = testing::synthetic_events(120, 400, 15000, 5);
    const std::vector p1(events.begin(), events.begin() + 5000), p2(events.begin() + 5000, events.begin() + 10000),
        p3(events.begin() + 10000, events.end());
    auto settings_b = settings();
    settings_b.state.path = dir_b.str();
    auto assigned = [](app::engine_host& h) { return testing::metric_sum(h.registry(), "marquee_consumer_assigned_partitions"); };

    testing::produce_events(broker.bootstrap(), "marquee.events", p1);
    double by_a = 0, by_b = 0, lost_a = 0, lost = 0;
    {
        auto a = std::make_unique<app::engine_host>(settings());
        ASSERT_TRUE(testing::wait_until([&] { return applied(*a) >= 5000; }, 30s));
        // The second member joins mid-stream and takes over some partitions.
        app::engine_host b(settings_b);
        ASSERT_TRUE(testing::wait_until([&] { return assigned(b) > 0 && assigned(*a) > 0 && assigned(*a) + assigned(b) == 4; }, 30s))
            << "a owns " << assigned(*a) << ", b owns " << assigned(b);
        testing::produce_events(broker.bootstrap(), "marquee.events", p2);
        ASSERT_TRUE(testing::wait_until([&] { return applied(*a) + applied(b) >= 10000; }, 30s));
        EXPECT_GT(applied(b), 0) << "b applied nothing while sharing the group";
        // The first member leaves mid-stream; b takes everything over.
        ASSERT_TRUE(a->shutdown());
        by_a = applied(*a);
        lost_a = testing::metric_sum(a->registry(), "marquee_consumer_rebalances_total", "kind", "lost");
        a.reset();
        ASSERT_TRUE(testing::wait_until([&] { return assigned(b) == 4; }, 30s));
        testing::produce_events(broker.bootstrap(), "marquee.events", p3);
        ASSERT_TRUE(testing::wait_until([&] { return by_a + applied(b) >= 15000; }, 30s))
            << "a " << by_a << " + b " << applied(b);
        std::this_thread::sleep_for(500ms);
        by_b = applied(b);
        lost = testing::metric_sum(b.registry(), "marquee_consumer_rebalances_total", "kind", "lost");
    }
    // A lost assignment (a commit the coordinator refused with a stale
    // generation mid-rebalance, or a session timeout; seen under the
    // sanitizer build's slowdown) keeps the old owner's last offsets out of
    // the group: the new owner applies those events again, in its own store.
    // Nothing is lost either way; exactly once needs an orderly hand-off.
    if (lost_a + lost > 0) {
        EXPECT_GE(by_a + by_b, 15000) << "events lost around a lost assignment";
        return;
    }
    EXPECT_EQ(by_a + by_b, 15000);
    // Sum of the per-user counters in both data dirs equals what was produced.
    testing::tally stored;
    for (const auto& path : {dir.str(), dir_b.str()}) {
        auto s = state::store::open({.path = path});
        ASSERT_TRUE(s) << s.error().message;
        for (const auto& [user, counts] : testing::count_by_user(events)) {
            auto u = s.value()->get_user(user);
            ASSERT_TRUE(u);
            if (!u.value()) continue;
            for (std::size_t t = 0; t < counts.size(); ++t) stored[user][t] += u.value()->counts[t];
        }
    }
    EXPECT_EQ(stored, testing::count_by_user(events));
}

TEST_F(ingest, producer_retries_with_the_same_event_id_are_applied_once) {
    std::vector<events::event> sent;
    for (int i = 0; i < 40; ++i) {
        events::event e;
        e.type = events::event_type::watch;
        e.user_id = "retrier";
        e.item_id = "m" + std::to_string(i);
        e.value = 0.9;
        e.ts_ms = 1000 + i;
        e.event_id = "evt-" + std::to_string(i);
        sent.push_back(e);
        if (i % 4 == 0) sent.push_back(e);  // a retry, right behind the original
        if (i % 10 == 0) sent.push_back(e);  // and another, further on
    }
    events::event anonymous = sent.front();
    anonymous.event_id.clear();  // no event_id: never deduplicated
    sent.push_back(anonymous);
    sent.push_back(anonymous);
    testing::produce_events(broker.bootstrap(), "marquee.events", sent);
    {
        app::engine_host host(settings());
        ASSERT_TRUE(testing::wait_until([&] {
            return testing::metric_sum(host.registry(), "marquee_events_applied_total") +
                       testing::metric_sum(host.registry(), "marquee_events_duplicate_total") >= double(sent.size());
        }, 30s));
        EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_events_duplicate_total"), double(sent.size() - 42));
    }
    testing::tally expected;
    expected["retrier"][std::size_t(events::event_type::watch)] = 42;
    expect_exactly_once(expected);
}

TEST_F(ingest, invalid_events_are_dead_lettered_and_the_good_ones_around_them_applied) {
    std::vector<std::pair<std::string, std::string>> kv;
    auto good = [&](int i) {
        events::event e;
        e.type = events::event_type::watch;
        e.user_id = "good";
        e.item_id = "m" + std::to_string(i);
        e.value = 0.9;
        e.ts_ms = 1000 + i;
        kv.emplace_back("good", events::encode_json(e));
    };
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"malformed_json", "{\"type\":"},
        {"missing_field", R"({"type":"watch","item_id":"m1"})"},
        {"wrong_type", R"({"type":"watch","user_id":["x"],"item_id":"m1"})"},
        {"invalid_value", R"({"type":"like","user_id":"u","item_id":"m1","value":NaN})"},
        {"unknown_type", R"({"type":"purchase","user_id":"u","item_id":"m1"})"},
        {"invalid_value", R"({"type":"watch","user_id":"u","item_id":"m1","value":7})"},
        {"too_large", std::string(1'000'000, '{')},
        {"empty", ""},
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
        good(int(i));
        kv.emplace_back("bad-" + std::to_string(i), bad[i].second);
    }
    good(99);
    // One key: one partition, so the DLQ order matches the input order.
    for (auto& p : kv) p.first = "same-key";
    testing::produce_raw(broker.bootstrap(), "marquee.events", kv);
    {
        app::engine_host host(settings());
        ASSERT_TRUE(testing::wait_until([&] {
            return testing::metric_sum(host.registry(), "marquee_events_applied_total") +
                       testing::metric_sum(host.registry(), "marquee_events_invalid_total") >= double(kv.size());
        }, 30s));
        for (const auto& [reason, payload] : bad)
            EXPECT_GE(testing::metric_sum(host.registry(), "marquee_events_invalid_total", "reason", reason), 1) << reason;
        EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_events_invalid_total"), double(bad.size()));
        EXPECT_EQ(testing::metric_sum(host.registry(), "marquee_events_applied_total"), double(bad.size() + 1));
        auto r = testing::http_get(host.http_port(), "/healthz");
        EXPECT_EQ(r.status, 200);
    }
    auto dlq = testing::consume_all(broker.bootstrap(), "marquee.events.dlq", bad.size(), 20s);
    ASSERT_EQ(dlq.size(), bad.size());
    for (std::size_t i = 0; i < bad.size(); ++i) {
        EXPECT_EQ(dlq[i].headers["marquee.error.reason"], bad[i].first);
        EXPECT_EQ(dlq[i].value, bad[i].second) << "the original bytes are kept";
        EXPECT_EQ(dlq[i].key, "same-key");
        EXPECT_EQ(dlq[i].headers["marquee.source.topic"], "marquee.events");
        EXPECT_FALSE(dlq[i].headers["marquee.error.message"].empty());
        EXPECT_EQ(dlq[i].headers["marquee.source.offset"], std::to_string(2 * i + 1));
    }
    testing::tally expected;
    expected["good"][std::size_t(events::event_type::watch)] = std::uint32_t(bad.size() + 1);
    expect_exactly_once(expected);
}

TEST_F(ingest, recommendations_follow_the_users_events_and_rewards_reach_the_bandit) {
    auto background = testing::synthetic_events(30, 120, 3000, 7);
    testing::produce_events(broker.bootstrap(), "marquee.events", background);
    std::string decision_id, shown_item;
    {
        app::engine_host host(settings());
        ASSERT_TRUE(testing::wait_until([&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total") >= 3000; }, 30s));
        // Serving snapshots are published at most every ingest.publish_interval_ms,
        // so the counter can run ahead of what a request sees for a moment.
        testing::http_reply cold;
        ASSERT_TRUE(testing::wait_until([&] {
            cold = testing::http_get(host.http_port(), "/v1/users/newcomer/recommendations?k=5");
            return cold.status == 200 && cold.body.find("\"items\":[]") == std::string::npos;
        }, 30s)) << cold.body;
        EXPECT_NE(cold.body.find("\"cold_start\":true"), std::string::npos) << cold.body;

        std::vector<events::event> mine;
        for (int i = 0; i < 20; ++i) {
            events::event e;
            e.type = events::event_type::like;
            e.user_id = "newcomer";
            e.item_id = "m" + std::to_string(i * 5);
            e.ts_ms = 1'700'000'000'000 + 3'000'000 + i;
            mine.push_back(e);
        }
        testing::produce_events(broker.bootstrap(), "marquee.events", mine);
        testing::http_reply warm;
        ASSERT_TRUE(testing::wait_until([&] {
            warm = testing::http_get(host.http_port(), "/v1/users/newcomer/recommendations?k=5");
            return warm.body.find("\"cold_start\":false") != std::string::npos;
        }, 30s)) << warm.body;
        // Every reply has a new decision_id: compare what was listed.
        EXPECT_NE(testing::item_ids(warm.body), testing::item_ids(cold.body)) << cold.body << "\n" << warm.body;
        for (const auto& e : mine) EXPECT_EQ(warm.body.find("\"" + e.item_id + "\""), std::string::npos) << "seen: " << e.item_id;

        decision_id = testing::json_field(warm.body, "decision_id");
        shown_item = testing::json_field(warm.body, "item_id");
        events::event click;
        click.type = events::event_type::click;
        click.user_id = "newcomer";
        click.item_id = shown_item;
        click.decision_id = decision_id;
        click.ts_ms = 1'700'000'000'000 + 4'000'000;
        testing::produce_events(broker.bootstrap(), "marquee.events", {click});
        ASSERT_TRUE(testing::wait_until([&] {
            return testing::metric_sum(host.registry(), "marquee_rewards_total", "outcome", "applied") == 1;
        }, 30s));
        // The decision went to the decisions topic too.
        auto logged = testing::consume_all(broker.bootstrap(), "marquee.decisions", 1, 20s,
                                           [&](const testing::consumed& m) { return m.value.find(decision_id) != std::string::npos; });
        bool found = !logged.empty() && logged.back().value.find(decision_id) != std::string::npos;
        EXPECT_TRUE(found) << "decision " << decision_id << " not on marquee.decisions";
    }
    auto s = state::store::open({.path = dir.str()});
    ASSERT_TRUE(s);
    engine::model m(settings().model);
    ASSERT_TRUE(s.value()->load_model(m));
    EXPECT_EQ(m.bandit().updates(), 1u) << "the click updated LinUCB, durably";
    auto d = s.value()->get_decision(decision_id);
    ASSERT_TRUE(d && d.value()) << "other shown items are still pending";
    for (const auto& item : d.value()->items) EXPECT_EQ(item.rewarded, item.item_id == shown_item);
}

TEST_F(ingest, the_group_learns_the_last_batchs_offsets_when_the_stream_goes_quiet) {
    // The group's offsets are committed at most once a second; a batch
    // applied less than a second after the previous commit, followed by
    // silence, must still reach the group (lag tools, the next owner).
    app::engine_host host(settings());
    auto applied = [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total"); };
    ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));
    testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(10, 50, 200, 41));
    ASSERT_TRUE(testing::wait_until([&] { return applied() >= 200; }, 30s));
    testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(10, 50, 7, 42));
    ASSERT_TRUE(testing::wait_until([&] { return applied() >= 207; }, 30s));
    EXPECT_TRUE(testing::wait_until(
        [&] { return testing::group_committed(broker.bootstrap(), "marquee", "marquee.events", 4) == 207; }, 10s))
        << "committed: " << testing::group_committed(broker.bootstrap(), "marquee", "marquee.events", 4);
}

TEST_F(ingest, after_the_log_ends_before_the_stored_offset_the_offsets_kept_are_where_it_really_is) {
    // On the same cluster, a partition's log can end before the offset stored
    // with our state: the topic was deleted and re-created, or an unclean
    // leader election truncated it. The consumer then starts again from the
    // log start (auto.offset.reset). The offsets it then stores and commits
    // must be the ones it really reached: had it kept the old, larger ones,
    // the next start would jump past the log end again and re-read it all.
    const auto events = testing::synthetic_events(10, 50, 400, 9);
    testing::produce_events(broker.bootstrap(), "marquee.events", events);
    {
        app::engine_host a(settings());
        ASSERT_TRUE(testing::wait_until([&] { return applied(a) >= 400; }, 30s));
    }
    {
        // The stand-in for a shorter log: stored offsets past its end.
        auto s = state::store::open({.path = dir.str()}).value();
        auto w = s->begin();
        for (int p = 0; p < 4; ++p) w.put_offset({"marquee.events", p, 1'000'000});
        ASSERT_TRUE(s->commit(w));
    }
    const auto committed = [&] { return testing::group_committed(broker.bootstrap(), "marquee", "marquee.events", 4); };
    {
        app::engine_host b(settings());
        ASSERT_TRUE(testing::wait_until([&] { return applied(b) >= 400; }, 30s)) << "read again from the log start";
        EXPECT_TRUE(testing::wait_until([&] { return committed() == 400; }, 10s)) << "the group has " << committed();
    }
    {
        auto s = state::store::open({.path = dir.str()}).value();
        std::int64_t stored = 0;
        for (int p = 0; p < 4; ++p) stored += s->offset("marquee.events", p).value().value_or(-1);
        EXPECT_EQ(stored, 400) << "the offsets stored with the state";
    }
    // The next start resumes there: it applies the one new event, not the log again.
    app::engine_host c(settings());
    testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(10, 50, 1, 10));
    EXPECT_TRUE(testing::wait_until([&] { return committed() == 401; }, 20s)) << "the group has " << committed();
    EXPECT_EQ(applied(c), 1);
}

TEST(embedded_start, refuses_a_data_dir_holding_a_real_clusters_offsets_and_keeps_them) {
    testing::temp_dir dir;
    auto with_cluster = [&](const std::string& id) {
        auto s = state::store::open({.path = dir.str()}).value();
        ASSERT_TRUE(s->reset_offsets(id));
        auto w = s->begin();
        w.put_offset({"marquee.events", 0, 42});
        ASSERT_TRUE(s->commit(w));
    };
    auto embedded = [&] {
        auto c = testing::engine_config("", dir.str());
        c.kafka.brokers.clear();
        return c;
    };
    with_cluster("Xk3bT0yKQ9qv8s1Zp2c4nA");  // a real Kafka cluster id
    try {
        app::engine_host host(embedded());
        ADD_FAILURE() << "started";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("Xk3bT0yKQ9qv8s1Zp2c4nA"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("--brokers"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("(kafka.bootstrap.servers,"), std::string::npos)
            << "the setting's real name: " << e.what();
    }
    {
        auto s = state::store::open({.path = dir.str()}).value();
        EXPECT_EQ(s->offset("marquee.events", 0).value(), 42) << "the offsets are kept";
    }
    // A previous embedded broker's offsets are dropped as before.
    with_cluster("mockCluster15602e1fed90");
    EXPECT_NO_THROW(app::engine_host host(embedded()));
}

// Engines on the embedded broker over one data dir, and what a user's
// clicks posted over HTTP came to.
struct embedded_engines {
    testing::temp_dir dir;
    app::config config = [this] {
        auto c = testing::engine_config("", dir.str());
        c.kafka.brokers.clear();
        return c;
    }();

    // `n` clicks of `user`, each answered 202 (in the broker).
    static void post_clicks(app::engine_host& host, const std::string& user, int n) {
        for (int i = 0; i < n; ++i) {
            const auto r = testing::http_request(
                host.http_port(), "POST", "/v1/events",
                R"({"type":"click","user_id":")" + user + R"(","item_id":"m)" + std::to_string(i) + R"("})");
            ASSERT_EQ(r.status, 202) << r.body;
        }
    }
    // The user's summary from a new engine: a new embedded broker, so only
    // the store remembers.
    testing::http_reply after_restart(const std::string& user) {
        app::engine_host again(config);
        auto reply = testing::http_request(again.http_port(), "GET", "/v1/users/" + user, "");
        again.stop();  // its broker holds nothing: no need to wait for an assignment to drain
        return reply;
    }
};

TEST(embedded_shutdown, applies_every_event_it_acknowledged_before_exiting) {
    // The embedded broker's log dies with the process: an event answered
    // 202 but not yet consumed when shutdown began used to be lost. Fetches
    // are refused for a while, so the events are still waiting in the log.
    embedded_engines e;
    {
        app::engine_host host(e.config);
        ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, std::chrono::seconds(30)));
        host.embedded_broker()->refuse_next_fetches(8);
        e.post_clicks(host, "late", 40);
        EXPECT_TRUE(host.shutdown());
    }
    const auto user = e.after_restart("late");
    ASSERT_EQ(user.status, 200) << "none of the events was applied";
    EXPECT_NE(user.body.find("\"click\":40"), std::string::npos) << user.body;
}

TEST(embedded_shutdown, waits_for_the_first_assignment_to_apply_what_was_acknowledged_before_it) {
    // HTTP answers from the start; the group takes seconds to assign the
    // partitions. A stop in between used to leave with nothing applied.
    embedded_engines e;
    {
        app::engine_host host(e.config);
        e.post_clicks(host, "early", 10);
        ASSERT_FALSE(host.ready()) << "the stop must come before the assignment for this test";
        EXPECT_TRUE(host.shutdown());
    }
    const auto user = e.after_restart("early");
    ASSERT_EQ(user.status, 200) << "none of the events was applied";
    EXPECT_NE(user.body.find("\"click\":10"), std::string::npos) << user.body;
}

// 500 events and 40 catalog items applied from `broker`, then a brand-new
// cluster (as an embedded broker is at every start) holding `more` and 40
// other items: the stored offsets, of events and of the catalog, must not be
// used against it, and every event of both ends up applied exactly once.
class another_cluster : public ingest {
protected:
    void SetUp() override {
        ingest::SetUp();
        broker.create_topic("marquee.items", 4);
    }
    void apply_first_cluster() {
        testing::produce_events(broker.bootstrap(), "marquee.events", first);
        testing::produce_raw(broker.bootstrap(), "marquee.items", catalog("first"));
        app::engine_host a(settings());
        ASSERT_TRUE(testing::wait_until([&] { return applied(a) >= 500 && catalog_applied(a) >= 40; }, 30s));
    }
    app::config on_other() {
        other.create_topic("marquee.events", 4);
        other.create_topic("marquee.items", 4);
        testing::produce_events(other.bootstrap(), "marquee.events", more);
        testing::produce_raw(other.bootstrap(), "marquee.items", catalog("other"));
        auto c = settings();
        c.kafka.brokers = other.bootstrap();
        c.kafka.dlq_topic.clear();
        return c;
    }
    // Every one of the other cluster's items, none skipped.
    void expect_other_catalog_read(app::engine_host& h) {
        EXPECT_TRUE(testing::wait_until([&] { return catalog_applied(h) >= 40; }, 20s)) << catalog_applied(h);
        EXPECT_EQ(catalog_applied(h), 40);
    }
    void expect_both_applied_once() {
        auto all = first;
        all.insert(all.end(), more.begin(), more.end());
        expect_exactly_once(testing::count_by_user(all));
    }
    static std::vector<std::pair<std::string, std::string>> catalog(const std::string& prefix) {
        std::vector<std::pair<std::string, std::string>> records;
        for (int i = 0; i < 40; ++i) {
            events::catalog_item item;
            item.item_id = prefix + std::to_string(i);
            item.title = "Movie " + item.item_id;
            records.emplace_back(item.item_id, events::encode_json(item));
        }
        return records;
    }
    static double catalog_applied(app::engine_host& h) {
        return testing::metric_sum(h.registry(), "marquee_catalog_applied_total");
    }

    const std::vector<events::event> first = testing::synthetic_events(10, 50, 500, 3);
    std::vector<events::event> more;
    stream::embedded_broker other;
};

TEST_F(another_cluster, its_offsets_are_not_applied) {
    apply_first_cluster();
    more = testing::synthetic_events(10, 50, 100, 4);
    {
        app::engine_host b(on_other());
        ASSERT_TRUE(testing::wait_until([&] { return applied(b) >= 100; }, 30s));
        expect_other_catalog_read(b);
    }
    expect_both_applied_once();
}

TEST_F(another_cluster, is_recognised_even_when_unreachable_at_start_up) {
    // More records than the stored offsets pass, and down while the engine
    // starts (its cluster id cannot be read then): starting at the stored
    // offsets would skip records without a trace.
    apply_first_cluster();
    more = testing::synthetic_events(10, 50, 1000, 6);
    auto c = on_other();
    other.set_broker_up(1, false);
    {
        app::engine_host b(c);
        std::this_thread::sleep_for(11s);  // past the engine's 10 s wait for the cluster id
        other.set_broker_up(1, true);
        EXPECT_TRUE(testing::wait_until([&] { return applied(b) >= 1000; }, 40s)) << "applied " << applied(b);
        expect_other_catalog_read(b);
    }
    expect_both_applied_once();
}

}  // namespace
}  // namespace marquee
