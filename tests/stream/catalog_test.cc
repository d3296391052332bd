// The catalog topic against librdkafka's in-process broker with the real
// engine: availability, new releases from the catalog, invalid records, and
// durability across a restart.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <set>
#include <thread>

#include "app/engine_host.h"
#include "events/catalog_decoder.h"
#include "state/store.h"
#include "stream/embedded_broker.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

namespace marquee {
namespace {

using namespace std::chrono_literals;

// "item_id" values of a recommendations reply, with their "reason".
std::vector<std::pair<std::string, std::string>> listed(const std::string& body) {
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t at = body.find("\"item_id\":\""); at != std::string::npos; at = body.find("\"item_id\":\"", at)) {
        at += 11;
        std::string id = body.substr(at, body.find('"', at) - at);
        auto r = body.find("\"reason\":\"", at) + 10;
        out.emplace_back(std::move(id), body.substr(r, body.find('"', r) - r));
    }
    return out;
}

class catalog : public ::testing::Test {
protected:
    void SetUp() override {
        spdlog::set_level(spdlog::level::warn);
        for (const char* t : {"marquee.events", "marquee.items", "marquee.decisions", "marquee.events.dlq"})
            broker.create_topic(t, 4);
    }

    app::config settings() { return testing::engine_config(broker.bootstrap(), dir.str()); }

    void publish(const std::vector<std::pair<std::string, std::string>>& records) {
        testing::produce_raw(broker.bootstrap(), "marquee.items", records);
    }

    static std::string unavailable(const std::string& id) {
        events::catalog_item item;
        item.item_id = id;
        item.available = false;
        return events::encode_json(item);
    }

    stream::embedded_broker broker;
    testing::temp_dir dir;
};

TEST_F(catalog, unavailable_items_are_never_recommended_new_items_are_new_releases_at_once_and_both_survive_a_restart) {
    testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(30, 120, 3000, 7));
    std::set<std::string> gone;
    {
        app::engine_host host(settings());
        auto& reg = host.registry();
        ASSERT_TRUE(testing::wait_until([&] { return testing::metric_sum(reg, "marquee_events_applied_total") >= 3000; }, 30s));

        // A fan of a handful of items: what the embedding ranks first for
        // them is what they would love next.
        std::vector<events::event> mine;
        for (int rep = 0; rep < 5; ++rep)
            for (int i = 0; i < 20; i += 4) {
                events::event e;
                e.type = events::event_type::like;
                e.user_id = "fan";
                e.item_id = "m" + std::to_string(i);
                e.ts_ms = 1'700'000'000'000 + 3'000'000 + rep;
                mine.push_back(e);
            }
        testing::produce_events(broker.bootstrap(), "marquee.events", mine);
        testing::http_reply warm;
        ASSERT_TRUE(testing::wait_until([&] {
            warm = testing::http_get(host.http_port(), "/v1/users/fan/recommendations?k=10");
            return warm.body.find("\"cold_start\":false") != std::string::npos;
        }, 30s)) << warm.body;
        std::vector<std::pair<std::string, std::string>> records;
        for (const auto& [id, reason] : listed(warm.body)) {
            if (reason == "embedding") gone.insert(id);
        }
        ASSERT_FALSE(gone.empty()) << "no embedding candidate to withdraw: " << warm.body;
        // Withdrawn both ways: a record with "available":false and a tombstone.
        bool tombstone = false;
        for (const auto& id : gone) {
            records.emplace_back(id, tombstone ? std::string() : unavailable(id));
            tombstone = !tombstone;
        }
        // A brand-new title, never seen in an event; and invalid records,
        // which must be counted and dead-lettered, not stop anything.
        events::catalog_item fresh;
        fresh.item_id = "brand-new";
        fresh.title = "Brand New (2026)";
        fresh.genres = {"Drama", "Thriller"};
        records.emplace_back(fresh.item_id, events::encode_json(fresh));
        records.emplace_back("bad-1", R"({"item_id":"bad-1","available":"no"})");
        records.emplace_back("bad-2", R"({"title":"no id"})");
        publish(records);
        const double expected = double(records.size() - 2);
        ASSERT_TRUE(testing::wait_until([&] {
            return testing::metric_sum(reg, "marquee_catalog_applied_total") >= expected &&
                   testing::metric_sum(reg, "marquee_catalog_invalid_total") >= 2;
        }, 30s)) << testing::metric_sum(reg, "marquee_catalog_applied_total");
        EXPECT_EQ(testing::metric_sum(reg, "marquee_catalog_applied_total"), expected);
        EXPECT_EQ(testing::metric_sum(reg, "marquee_catalog_invalid_total", "reason", "wrong_type"), 1);
        EXPECT_EQ(testing::metric_sum(reg, "marquee_catalog_invalid_total", "reason", "missing_field"), 1);

        // The snapshot follows the batch within the publish interval.
        bool fresh_offered = false;
        ASSERT_TRUE(testing::wait_until([&] {
            for (const auto& [id, reason] : listed(testing::http_get(host.http_port(), "/v1/users/newcomer/recommendations?k=100").body))
                if (id == "brand-new" && reason == "new_release") fresh_offered = true;
            return fresh_offered;
        }, 10s)) << "a new catalog item is a new_release candidate before any event for it";
        std::string with_title;
        ASSERT_TRUE(testing::wait_until([&] {
            with_title = testing::http_get(host.http_port(), "/v1/users/newcomer/recommendations?k=100").body;
            return with_title.find(R"j("item_id":"brand-new","title":"Brand New (2026)",)j") != std::string::npos;
        }, 10s)) << "titles from the catalog are served: " << with_title;
        for (int n = 0; n < 30; ++n) {
            for (const std::string user : {"fan", "newcomer", "u1"}) {
                auto r = testing::http_get(host.http_port(), "/v1/users/" + user + "/recommendations?k=100");
                ASSERT_EQ(r.status, 200);
                for (const auto& [id, reason] : listed(r.body))
                    EXPECT_FALSE(gone.contains(id)) << user << " was offered unavailable " << id << " (" << reason << ")";
            }
        }
    }
    auto dlq = testing::consume_all(broker.bootstrap(), "marquee.events.dlq", 2, 20s);
    ASSERT_EQ(dlq.size(), 2u);
    for (const auto& m : dlq) {
        EXPECT_EQ(m.headers.at("marquee.source.topic"), "marquee.items");
        EXPECT_TRUE(m.key == "bad-1" || m.key == "bad-2") << m.key;
    }

    // Durable: stored in the item rows, and served so after a restart.
    {
        auto s = state::store::open({.path = dir.str()});
        ASSERT_TRUE(s) << s.error().message;
        engine::model m(settings().model);
        ASSERT_TRUE(s.value()->load_model(m));
        for (const auto& id : gone) {
            auto row = m.items().find(id);
            ASSERT_TRUE(row) << id;
            EXPECT_FALSE(m.stats(*row).available) << id;
        }
        auto row = m.items().find("brand-new");
        ASSERT_TRUE(row);
        EXPECT_TRUE(m.stats(*row).available);
        EXPECT_EQ(m.stats(*row).title, "Brand New (2026)");
        EXPECT_EQ(m.stats(*row).genres, "Drama|Thriller");
    }
    {
        // Ready only once nothing is left to apply: an instance that re-read
        // the events from the start would have applied them by then.
        auto config = settings();
        config.ingest.ready_max_lag = 0;
        app::engine_host again(config);
        ASSERT_TRUE(testing::wait_until([&] { return again.ready(); }, 30s));
        for (int n = 0; n < 20; ++n) {
            auto r = testing::http_get(again.http_port(), "/v1/users/fan/recommendations?k=100");
            ASSERT_EQ(r.status, 200);
            ASSERT_FALSE(listed(r.body).empty()) << r.body;
            for (const auto& [id, reason] : listed(r.body)) EXPECT_FALSE(gone.contains(id)) << "after restart: " << id;
        }
        EXPECT_EQ(testing::metric_sum(again.registry(), "marquee_events_applied_total"), 0)
            << "events re-applied after a restart";
        // The catalog is read outside the group (no lag in ready()): records
        // appended to every partition are applied after whatever a re-read
        // from the start would apply, so once they are in, the count says
        // whether anything else was.
        std::vector<std::pair<std::string, std::string>> sentinels;
        for (int n = 0; n < 32; ++n) {
            events::catalog_item item;
            item.item_id = "sentinel-" + std::to_string(n);
            sentinels.emplace_back(item.item_id, events::encode_json(item));
        }
        publish(sentinels);
        std::set<std::int32_t> partitions;
        for (const auto& m : testing::consume_all(broker.bootstrap(), "marquee.items", 32, 10s,
                                                  [](const auto& m) { return m.key.starts_with("sentinel-"); }))
            if (m.key.starts_with("sentinel-")) partitions.insert(m.partition);
        ASSERT_EQ(partitions.size(), 4u) << "a sentinel in every catalog partition";
        // Every sentinel served (a count of 32 alone could be old records
        // plus some of them).
        ASSERT_TRUE(testing::wait_until([&] {
            for (const auto& [id, record] : sentinels)
                if (testing::http_get(again.http_port(), "/v1/items/" + id + "/similar?k=1").status != 200) return false;
            return true;
        }, 30s));
        EXPECT_EQ(testing::metric_sum(again.registry(), "marquee_catalog_applied_total"), 32)
            << "catalog records re-applied after a restart: their offsets were stored with the state";
    }
}

TEST_F(catalog, a_catalog_read_from_its_beginning_after_events_is_back_catalogue_and_later_records_are_new) {
    // A replica joining a running deployment reads the catalog from the
    // beginning while events move its clock on: what the topic held then is
    // not a wave of new releases. Deterministic here: the state has applied
    // events (its clock is on) before it first reads this catalog topic.
    auto c = settings();
    testing::produce_events(broker.bootstrap(), "marquee.events", testing::synthetic_events(30, 120, 3000, 8));
    {
        app::engine_host host(c);
        ASSERT_TRUE(testing::wait_until(
            [&] { return testing::metric_sum(host.registry(), "marquee_events_applied_total") >= 3000; }, 30s));
    }
    c.kafka.items_topic = "marquee.items.full";
    broker.create_topic(c.kafka.items_topic, 2);
    std::vector<std::pair<std::string, std::string>> stock;
    for (int i = 0; i < 30; ++i) {
        events::catalog_item item;
        item.item_id = "old-" + std::to_string(i);
        stock.emplace_back(item.item_id, events::encode_json(item));
    }
    testing::produce_raw(broker.bootstrap(), c.kafka.items_topic, stock);
    app::engine_host host(c);
    auto& reg = host.registry();
    ASSERT_TRUE(testing::wait_until([&] { return testing::metric_sum(reg, "marquee_catalog_applied_total") >= 30; }, 30s));
    events::catalog_item added;
    added.item_id = "added-later";
    testing::produce_raw(broker.bootstrap(), c.kafka.items_topic, {{added.item_id, events::encode_json(added)}});
    bool added_offered = false;
    std::set<std::string> old_offered_as_new;
    ASSERT_TRUE(testing::wait_until([&] {
        for (const auto& [id, reason] : listed(testing::http_get(host.http_port(), "/v1/users/newcomer/recommendations?k=100").body)) {
            if (id.starts_with("old-") && reason == "new_release") old_offered_as_new.insert(id);
            added_offered |= id == "added-later" && reason == "new_release";
        }
        return added_offered;
    }, 10s)) << "a record published later is a new release";
    EXPECT_TRUE(old_offered_as_new.empty()) << old_offered_as_new.size() << " back-catalogue items offered as new releases";
}

TEST_F(catalog, catalog_records_and_events_in_one_batch_are_each_read_as_what_they_are) {
    {
        app::engine_host host(settings());
        auto& reg = host.registry();
        ASSERT_TRUE(testing::wait_until([&] { return host.ready(); }, 30s));
        // Catalog records published while events flow: the loop drains the
        // catalog into the batch it is filling with events.
        const auto events = testing::synthetic_events(5, 20, 400, 3);
        std::thread producer([&] {
            for (std::size_t at = 0; at < events.size(); at += 20)
                testing::produce_events(broker.bootstrap(), "marquee.events",
                                        std::vector(events.begin() + at, events.begin() + at + 20));
        });
        for (int i = 0; i < 40; ++i) {
            events::catalog_item item;
            item.item_id = "title-" + std::to_string(i);
            item.title = "Title " + std::to_string(i);
            publish({{item.item_id, events::encode_json(item)}});
        }
        producer.join();
        ASSERT_TRUE(testing::wait_until([&] {
            return testing::metric_sum(reg, "marquee_events_applied_total") >= 400 &&
                   testing::metric_sum(reg, "marquee_catalog_applied_total") >= 40;
        }, 30s)) << testing::metric_sum(reg, "marquee_catalog_applied_total") << " catalog records, "
                 << testing::metric_sum(reg, "marquee_events_invalid_total") << " invalid events";
        EXPECT_EQ(testing::metric_sum(reg, "marquee_events_applied_total"), 400);
        EXPECT_EQ(testing::metric_sum(reg, "marquee_catalog_applied_total"), 40);
        EXPECT_EQ(testing::metric_sum(reg, "marquee_events_invalid_total"), 0);
        EXPECT_EQ(testing::metric_sum(reg, "marquee_catalog_invalid_total"), 0);
    }
    // Each record's offset is stored under its own topic.
    auto s = state::store::open({.path = dir.str()});
    ASSERT_TRUE(s) << s.error().message;
    std::map<std::string, std::int64_t> read;
    const auto offsets = s.value()->offsets();
    ASSERT_TRUE(offsets) << offsets.error().message;
    for (const auto& o : offsets.value()) read[o.topic] += o.next_offset;
    EXPECT_EQ(read, (std::map<std::string, std::int64_t>{{"marquee.events", 400}, {"marquee.items", 40}}));
}

TEST_F(catalog, every_member_of_a_group_reads_the_whole_catalog) {
    // Events are shared out between members; the catalog must not be, or an
    // item withdrawn on one partition would stay recommendable on the
    // members that do not own it.
    testing::temp_dir dir_b;
    auto settings_b = settings();
    settings_b.state.path = dir_b.str();
    app::engine_host a(settings());
    app::engine_host b(settings_b);
    ASSERT_TRUE(testing::wait_until([&] { return a.ready() && b.ready(); }, 30s));
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < 16; ++i) {
        events::catalog_item item;
        item.item_id = "film-" + std::to_string(i);
        item.title = "Film " + std::to_string(i);
        records.emplace_back(item.item_id, events::encode_json(item));
    }
    publish(records);
    for (auto* h : {&a, &b})
        EXPECT_TRUE(testing::wait_until([&] { return testing::metric_sum(h->registry(), "marquee_catalog_applied_total") >= 16; }, 30s))
            << testing::metric_sum(h->registry(), "marquee_catalog_applied_total");
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(testing::metric_sum(a.registry(), "marquee_catalog_applied_total"), 16);
    EXPECT_EQ(testing::metric_sum(b.registry(), "marquee_catalog_applied_total"), 16);
    EXPECT_EQ(testing::metric_sum(a.registry(), "marquee_consumer_assigned_partitions") +
                  testing::metric_sum(b.registry(), "marquee_consumer_assigned_partitions"),
              4)
        << "only the events topic is shared out by the group";
}

}  // namespace
}  // namespace marquee
