#include "state/store.h"

#include <gtest/gtest.h>

#include <limits>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstring>
#include <future>
#include <set>

#include "core/byte_io.h"
#include "engine/learner.h"
#include "state/codec.h"
#include "utils/event_builders.h"
#include "utils/raw_record.h"
#include "utils/test_utils.h"

namespace marquee::state {
namespace {

using testing::put_raw;

engine::model_options opts() {
    engine::model_options o;
    o.mf.dim = 4;
    return o;
}

std::unique_ptr<store> open_at(const std::string& path) {
    auto s = store::open({.path = path});
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return std::move(s).value();
}

// Applies a few events and commits them like the ingest path does.
void fill(store& s, engine::model& m, engine::user_state& u) {
    engine::learner l(m);
    engine::touched t;
    events::event e;
    e.type = events::event_type::like;
    e.user_id = "u1";
    for (int i = 0; i < 5; ++i) {
        e.item_id = "m" + std::to_string(i);
        e.ts_ms = 1000 + i;
        l.apply(e, u, nullptr, t);
    }
    m.bandit().update(bandits::feature_vector::Ones(), 1.0);
    m.bump_version();
    auto w = s.begin();
    w.put_user("u1", u);
    for (auto row : t.item_rows) w.put_item(m, row);
    w.put_bandit(m);
    w.put_model_meta(m);
    w.put_offset({"marquee.events", 2, 41});
    w.put_offset({"marquee.events", 0, 7});
    ASSERT_TRUE(s.commit(w));
}

// A closed store at `path` holding what fill() writes, for damage tests.
void write_filled_store(const std::string& path) {
    engine::model m(opts());
    engine::user_state u;
    auto s = open_at(path);
    fill(*s, m, u);
}

TEST(store, rocksdb_logs_through_marquees_log_and_a_first_start_is_no_error) {
    // RocksDB's file logger aborted on a write after a failed one (Debian's
    // build keeps assertions), so its lines go to spdlog; and a data dir that
    // does not exist yet is made first, not logged by RocksDB as an error.
    testing::temp_dir dir;
    const auto path = (dir.path() / "new" / "state").string();
    testing::captured_log log;
    log.logger().set_level(spdlog::level::debug);
    log.logger().set_pattern("%l %v");
    {
        auto s = store::open({.path = path});
        ASSERT_TRUE(s) << s.error().message;
    }
    const std::string text = log.text();
    EXPECT_NE(text.find("debug rocksdb: "), std::string::npos) << "RocksDB's own lines reach the log";
    EXPECT_EQ(text.find("error "), std::string::npos) << text.substr(0, 2000);
    EXPECT_EQ(text.find("warning "), std::string::npos) << text.substr(0, 2000);
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path) / "LOG")) << "no separate LOG file";
}

TEST(store, reopen_keeps_state_and_offsets) {
    testing::temp_dir dir;
    engine::model m(opts());
    engine::user_state u;
    std::uint64_t sum = 0;
    {
        auto s = open_at(dir.str());
        fill(*s, m, u);
        sum = s->checksum().value();
    }
    auto s = open_at(dir.str());
    auto user = s->get_user("u1");
    ASSERT_TRUE(user && user.value());
    EXPECT_EQ(user.value()->embedding, u.embedding);
    EXPECT_EQ(user.value()->recent, u.recent);
    EXPECT_EQ(user.value()->count(events::event_type::like), 5u);
    EXPECT_FALSE(s->get_user("nobody").value());

    engine::model loaded(opts());
    ASSERT_TRUE(s->load_model(loaded));
    ASSERT_EQ(loaded.items().size(), m.items().size());
    EXPECT_EQ(loaded.items().ids(), m.items().ids()) << "rows come back in their original order";
    EXPECT_EQ(loaded.items().data(), m.items().data());
    EXPECT_EQ(loaded.bandit().a_inverse(), m.bandit().a_inverse());
    EXPECT_EQ(loaded.version(), 1u);
    EXPECT_EQ(loaded.clock_ms(), 1004);
    EXPECT_EQ(s->offset("marquee.events", 2).value(), 41);
    EXPECT_EQ(s->offset("marquee.events", 0).value(), 7);
    EXPECT_FALSE(s->offset("marquee.events", 1).value());
    EXPECT_EQ(s->offsets().value().size(), 2u);
    EXPECT_EQ(s->checksum().value(), sum);
}

TEST(store, the_instance_tag_is_drawn_once_per_data_dir_and_kept) {
    testing::temp_dir dir;
    std::uint16_t tag = 0;
    {
        auto s = open_at(dir.str());
        tag = s->instance_tag();
    }
    EXPECT_EQ(open_at(dir.str())->instance_tag(), tag);
    // Drawn at random: of a few fresh data dirs, not all share one tag.
    std::set<std::uint16_t> tags{tag};
    for (int i = 0; i < 4; ++i) {
        testing::temp_dir other;
        tags.insert(open_at(other.str())->instance_tag());
    }
    EXPECT_GT(tags.size(), 1u);
}

TEST(store, model_dimension_mismatch_is_a_clear_error) {
    testing::temp_dir dir;
    engine::model m(opts());
    engine::user_state u;
    auto s = open_at(dir.str());
    fill(*s, m, u);
    engine::model_options other = opts();
    other.mf.dim = 8;
    engine::model wrong(other);
    auto r = s->load_model(wrong);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("model.dim"), std::string::npos);
}

TEST(store, a_bandit_of_another_feature_map_is_reported_and_the_rest_still_loads) {
    testing::temp_dir dir;
    engine::model m(opts());
    engine::user_state u;
    {
        auto s = open_at(dir.str());
        fill(*s, m, u);
    }
    {
        // Rewrite the stored bandit as a version-1 (8-feature) model.
        std::string v1(4 + 4 + 8 + sizeof(double) * (64 + 8), '\0');
        const std::uint32_t magic = 0x4c55'4301, eight = 8;
        std::memcpy(v1.data(), &magic, 4);
        std::memcpy(v1.data() + 4, &eight, 4);
        put_raw(dir.str(), "bandit", "linucb", v1);
    }
    auto s = open_at(dir.str());
    engine::model back(opts());
    auto r = s->load_model(back);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, "feature_map_changed");
    EXPECT_EQ(back.items().size(), m.items().size()) << "items loaded before the bandit";
    EXPECT_EQ(back.version(), m.version());
    EXPECT_EQ(back.bandit().updates(), 0u) << "the bandit is at its prior";
}

TEST(store, a_malformed_stored_offset_is_an_error_never_no_offset) {
    testing::temp_dir dir;
    write_filled_store(dir.str());
    // Damage one offset record (a value of 3 bytes) and add a key with no
    // partition number, as corruption could.
    put_raw(dir.str(), "offsets", "marquee.events/0", "abc");
    put_raw(dir.str(), "offsets", "marquee.events/x", std::string(8, '\0'));
    auto s = open_at(dir.str());
    // "None" would make ingest start from the group's offset and apply the
    // events after it a second time.
    auto damaged = s->offset("marquee.events", 0);
    ASSERT_FALSE(damaged);
    EXPECT_EQ(damaged.error().reason, "corrupt");
    EXPECT_EQ(s->offset("marquee.events", 2).value(), 41) << "the intact one still reads";
    EXPECT_FALSE(s->offset("marquee.events", 5).value()) << "a missing one is none";
    auto all = s->offsets();
    ASSERT_FALSE(all);
    EXPECT_EQ(all.error().reason, "corrupt");
    // A reset (a new cluster) clears damaged records too.
    ASSERT_TRUE(s->reset_offsets("cluster-c"));
    EXPECT_TRUE(s->offsets().value().empty());
}

TEST(store, damaged_model_metadata_is_an_error_never_zero) {
    testing::temp_dir dir;
    write_filled_store(dir.str());
    // A clock of 0 would stall reward windows and popularity decay.
    put_raw(dir.str(), "default", "model_clock_ms", "abc");
    {
        auto s = open_at(dir.str());
        engine::model m(opts());
        auto loaded = s->load_model(m);
        ASSERT_FALSE(loaded);
        EXPECT_EQ(loaded.error().reason, "corrupt_state");
    }
    // A new instance tag would disown every decision served so far.
    put_raw(dir.str(), "default", "instance_tag", "abc");
    auto reopened = store::open({.path = dir.str()});
    ASSERT_FALSE(reopened);
    EXPECT_EQ(reopened.error().reason, "corrupt_state");
}

TEST(store, cluster_reset_forgets_offsets_but_keeps_state) {
    testing::temp_dir dir;
    engine::model m(opts());
    engine::user_state u;
    auto s = open_at(dir.str());
    fill(*s, m, u);
    EXPECT_EQ(s->cluster_id().value(), "");
    ASSERT_TRUE(s->reset_offsets("cluster-b"));
    EXPECT_EQ(s->cluster_id().value(), "cluster-b");
    EXPECT_TRUE(s->offsets().value().empty());
    EXPECT_TRUE(s->get_user("u1").value());
}

TEST(store, checksum_tracks_state_not_offsets) {
    testing::temp_dir a_dir, b_dir;
    engine::model ma(opts()), mb(opts());
    engine::user_state ua, ub;
    auto a = open_at(a_dir.str());
    auto b = open_at(b_dir.str());
    fill(*a, ma, ua);
    fill(*b, mb, ub);
    EXPECT_EQ(a->checksum().value(), b->checksum().value());
    auto w = b->begin();
    w.put_offset({"t", 9, 9});
    ASSERT_TRUE(b->commit(w));
    EXPECT_EQ(a->checksum().value(), b->checksum().value());
    ub.events += 1;
    auto w2 = b->begin();
    w2.put_user("u1", ub);
    ASSERT_TRUE(b->commit(w2));
    EXPECT_NE(a->checksum().value(), b->checksum().value());
}

// A decision in a write of its own.
core::result<void> put_decision(store& s, std::string_view id, const engine::pending_decision& d) {
    auto w = s.begin();
    w.put_decision(id, d);
    return s.commit(w);
}

TEST(store, decisions_can_be_recorded_updated_and_erased) {
    testing::temp_dir dir;
    auto s = open_at(dir.str());
    engine::pending_decision d;
    d.user_id = "u1";
    d.served_ms = 5;
    d.policy = bandits::policy_kind::thompson;
    d.items.push_back({"m1", bandits::feature_vector::Constant(0.5), 0.25, false});
    ASSERT_TRUE(put_decision(*s, "d1", d));
    auto got = s->get_decision("d1");
    ASSERT_TRUE(got && got.value());
    EXPECT_EQ(got.value()->items[0].features, d.items[0].features);
    EXPECT_DOUBLE_EQ(got.value()->items[0].propensity, 0.25);
    EXPECT_EQ(got.value()->policy, bandits::policy_kind::thompson);
    auto w = s->begin();
    w.erase_decision("d1", d);
    ASSERT_TRUE(s->commit(w));
    EXPECT_FALSE(s->get_decision("d1").value());
    int left = 0;
    EXPECT_TRUE(s->user_decisions("u1", 0, 100, [&](store::stored_decision&&) { return ++left > 0; }));
    EXPECT_EQ(left, 0) << "the index entries went with it";
    EXPECT_TRUE(s->decisions_served_before(100, 10).value().empty());
}

TEST(store, pending_decisions_are_found_by_user_and_window_and_by_serving_time) {
    testing::temp_dir dir;
    auto s = open_at(dir.str());
    auto decision = [](std::string user, std::int64_t served) {
        engine::pending_decision d;
        d.user_id = std::move(user);
        d.served_ms = served;
        d.items.push_back({"m1", bandits::feature_vector::Zero(), 1.0, false});
        return d;
    };
    // "u" and "u1" share a prefix: the length-prefixed index keeps them apart.
    ASSERT_TRUE(put_decision(*s, "a", decision("u", 1000)));
    ASSERT_TRUE(put_decision(*s, "b", decision("u", 2000)));
    ASSERT_TRUE(put_decision(*s, "c", decision("u1", 1500)));
    ASSERT_TRUE(put_decision(*s, "d", decision("u", 3000)));

    auto ids = [](const std::vector<store::stored_decision>& v) {
        std::vector<std::string> out;
        for (const auto& d : v) out.push_back(d.id);
        return out;
    };
    // Newest first, as many as `visit` asks for.
    auto of_user = [&](std::string_view user, std::int64_t from, std::int64_t to, std::size_t most = 100) {
        std::vector<std::string> out;
        EXPECT_TRUE(s->user_decisions(user, from, to, [&](store::stored_decision&& d) {
            out.push_back(d.id);
            return out.size() < most;
        }));
        return out;
    };
    EXPECT_EQ(of_user("u", 0, 10'000), (std::vector<std::string>{"d", "b", "a"}));
    EXPECT_EQ(of_user("u", 0, 10'000, 1), (std::vector<std::string>{"d"})) << "stops when asked";
    EXPECT_EQ(of_user("u", 1500, 2500), (std::vector<std::string>{"b"}));
    EXPECT_EQ(of_user("u", 2000, 3000), (std::vector<std::string>{"d", "b"})) << "both ends included";
    EXPECT_EQ(of_user("u", 0, std::numeric_limits<std::int64_t>::max()), (std::vector<std::string>{"d", "b", "a"}));
    EXPECT_EQ(of_user("u1", 0, 10'000), (std::vector<std::string>{"c"}));
    EXPECT_TRUE(of_user("nobody", 0, 10'000).empty());
    EXPECT_TRUE(of_user("u", 3001, 10'000).empty());
    EXPECT_EQ(ids(s->decisions_served_before(2500, 10).value()), (std::vector<std::string>{"a", "c", "b"}));
    EXPECT_EQ(ids(s->decisions_served_before(2500, 2).value()), (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(s->decisions_served_before(2500, 10).value()[1].decision.user_id, "u1");
}

TEST(codec, decisions_scored_by_another_feature_map_decode_as_stale) {
    engine::pending_decision d;
    d.user_id = "u";
    d.served_ms = 7;
    d.items.push_back({"m1", bandits::feature_vector::Constant(0.5), 0.5, false});
    d.items.push_back({"m2", bandits::feature_vector::Constant(0.25), 0.5, true});
    d.items[1].features[3] = 0.1;  // not a float: kept to float precision
    auto same = decode_decision(encode_decision(d));
    ASSERT_TRUE(same);
    EXPECT_TRUE(same.value().features_current);
    EXPECT_NEAR(same.value().items[1].features[3], 0.1, 1e-8);
    EXPECT_EQ(same.value().items[0].features, d.items[0].features);
    // Format 1: no policy byte, no feature count, 8 features per item.
    core::byte_writer w1;
    w1.put(std::uint8_t(1));
    w1.put_string("u");
    w1.put(std::int64_t(7));
    w1.put(std::uint32_t(1));
    w1.put_string("m1");
    for (int i = 0; i < 8; ++i) w1.put(0.5);
    w1.put(0.5);
    w1.put(std::uint8_t(0));
    const std::string v1 = w1.take();
    // Format 2: float64 features with their count; still current ones.
    core::byte_writer w2;
    w2.put(std::uint8_t(2));
    w2.put_string("u");
    w2.put(std::int64_t(7));
    w2.put(std::uint8_t(bandits::policy_kind::greedy));
    w2.put(std::uint32_t(1));
    w2.put(std::uint32_t(bandits::feature_dim));
    w2.put_string("m2");
    for (int i = 0; i < bandits::feature_dim; ++i) w2.put(0.1 * i);
    w2.put(0.25);
    w2.put(std::uint8_t(1));
    const std::string v2 = w2.take();
    auto two = decode_decision(v2);
    ASSERT_TRUE(two) << two.error().message;
    EXPECT_TRUE(two.value().features_current);
    EXPECT_EQ(two.value().policy, bandits::policy_kind::greedy);
    ASSERT_EQ(two.value().items.size(), 1u);
    EXPECT_EQ(two.value().items[0].features[3], 0.1 * 3);
    EXPECT_EQ(two.value().items[0].propensity, 0.25);
    EXPECT_TRUE(two.value().items[0].rewarded);

    auto old = decode_decision(v1);
    ASSERT_TRUE(old) << old.error().message;
    EXPECT_FALSE(old.value().features_current);
    EXPECT_EQ(old.value().policy, bandits::policy_kind::ucb);
    ASSERT_EQ(old.value().items.size(), 1u);
    EXPECT_EQ(old.value().items[0].item_id, "m1");
    // Written again (a reward marks an item), it still has no features: it
    // must not come back as a current decision with zero features.
    auto rewritten = decode_decision(encode_decision(old.value()));
    ASSERT_TRUE(rewritten) << rewritten.error().message;
    EXPECT_FALSE(rewritten.value().features_current);
    EXPECT_EQ(rewritten.value().items[0].item_id, "m1");
    EXPECT_EQ(rewritten.value().items[0].propensity, old.value().items[0].propensity);

    // Its rewards are recognised and do not touch the model.
    engine::model m(opts());
    engine::learner l(m);
    engine::touched t;
    engine::user_state u;
    auto click = testing::make_event(events::event_type::click, "u", "m1", 10);
    click.decision_id = "d";
    EXPECT_EQ(l.apply(click, u, &old.value(), t), engine::reward_outcome::stale_features);
    EXPECT_EQ(m.bandit().updates(), 0u);
}

TEST(codec, corrupt_records_are_errors_not_crashes) {
    engine::user_state u;
    u.embedding = {1, 2, 3};
    u.remember_item("a", true, 10);
    u.remember_item("bb", false, 10);
    std::string good = encode_user(u);
    // A flag byte other than 0 or 1 is corrupt.
    std::string bad_flag = good;
    bad_flag[bad_flag.size() - 4 - 1] = 2;
    EXPECT_FALSE(decode_user(bad_flag));
    ASSERT_TRUE(decode_user(good));
    for (std::size_t cut = 0; cut < good.size(); ++cut) EXPECT_FALSE(decode_user(good.substr(0, cut))) << cut;
    EXPECT_FALSE(decode_user(good + "x"));
    EXPECT_FALSE(decode_item("\x07garbage"));
    EXPECT_FALSE(decode_decision(""));
}

TEST(codec, users_keep_their_event_ids_and_old_records_still_decode) {
    engine::user_state u;
    u.embedding = {0.5f};
    u.remember_item("m0", false, 10);
    u.remember_item("m1", true, 10);
    u.counts[0] = 3;
    u.counts[std::size_t(events::event_type::reward)] = 2;
    for (std::uint64_t h = 0; h < 70; ++h) u.remember_event(h);
    EXPECT_EQ(u.event_ids.size(), engine::user_state::event_id_window);
    EXPECT_FALSE(u.remember_event(69));
    EXPECT_TRUE(u.remember_event(0));  // aged out of the window
    auto back = decode_user(encode_user(u));
    ASSERT_TRUE(back);
    EXPECT_EQ(back.value().event_ids, u.event_ids);
    EXPECT_EQ(back.value().counts, u.counts);
    EXPECT_EQ(back.value().recent_positive, (std::vector<std::uint8_t>{0, 1}));
    // A format-3 record (before history responses) is the same bytes minus
    // one flag byte per history item; its items all count as liked.
    std::string v3 = encode_user(u);
    const std::size_t ids_bytes = 4 + u.event_ids.size() * 8;
    v3.erase(v3.size() - ids_bytes - u.recent.size(), u.recent.size());
    v3[0] = 3;
    auto third = decode_user(v3);
    ASSERT_TRUE(third) << third.error().message;
    EXPECT_EQ(third.value().recent, u.recent);
    EXPECT_EQ(third.value().recent_positive, (std::vector<std::uint8_t>{1, 1}));
    EXPECT_EQ(third.value().event_ids, u.event_ids);
    // A format-1 record (written before event ids and the reward type
    // existed) is the same bytes minus the trailing id list and the eighth
    // count, with version byte 1.
    std::string v1 = v3;
    v1.resize(v1.size() - ids_bytes);
    v1.erase(1 + 4 + sizeof(float) + 7 * 4, 4);
    v1[0] = 1;
    auto old = decode_user(v1);
    ASSERT_TRUE(old) << old.error().message;
    EXPECT_TRUE(old.value().event_ids.empty());
    EXPECT_EQ(old.value().recent, u.recent);
    EXPECT_EQ(old.value().counts[0], 3u);
    EXPECT_EQ(old.value().counts[std::size_t(events::event_type::reward)], 0u);
}

TEST(store, flushes_and_compactions_write_under_the_configured_cap) {
    testing::temp_dir dir;
    {
        auto s = open_at(dir.str() + "/default");
        EXPECT_EQ(s->stats().background_write_limit, 32u << 20);
    }
    {
        auto s = store::open({.path = dir.str() + "/capped", .background_write_bytes_per_s = 4u << 20});
        ASSERT_TRUE(s);
        EXPECT_EQ(s.value()->stats().background_write_limit, 4u << 20);
    }
    auto s = store::open({.path = dir.str() + "/uncapped", .background_write_bytes_per_s = 0});
    ASSERT_TRUE(s);
    EXPECT_EQ(s.value()->stats().background_write_limit, 0u);
}

// Runs a job on one of RocksDB's (process-wide) background pools and returns
// the nice value of the thread that ran it.
int nice_of_pool(rocksdb::Env::Priority pool) {
    std::promise<int> nice;
    rocksdb::Env::Default()->Schedule(
        [](void* p) {
            static_cast<std::promise<int>*>(p)->set_value(getpriority(PRIO_PROCESS, 0));
        },
        &nice, pool);
    return nice.get_future().get();
}

TEST(store, flushes_and_compactions_run_at_the_lowest_cpu_priority) {
    testing::temp_dir dir;
    auto s = open_at(dir.str());
    EXPECT_EQ(nice_of_pool(rocksdb::Env::Priority::HIGH), 19);  // flushes
    EXPECT_EQ(nice_of_pool(rocksdb::Env::Priority::LOW), 19);   // compactions
}

TEST(store, a_data_dir_that_lost_its_current_file_is_corruption_not_a_first_start) {
    // RocksDB took it for a new database, and deleted the tables it found.
    testing::temp_dir dir;
    engine::model m(opts());
    engine::user_state u;
    {
        auto s = open_at(dir.str());
        fill(*s, m, u);
    }
    std::vector<std::filesystem::path> kept;
    for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
        const auto name = f.path().filename().string();
        if (name == "CURRENT" || f.path().extension() == ".log") std::filesystem::remove(f.path());
        else kept.push_back(f.path());
    }
    auto s = store::open({.path = dir.str()});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("no CURRENT"), std::string::npos) << s.error().message;
    for (const auto& f : kept) EXPECT_TRUE(std::filesystem::exists(f)) << f;
}

TEST(store, open_reports_unusable_paths) {
    auto s = store::open({.path = "/proc/definitely/not/writable"});
    ASSERT_FALSE(s);
    EXPECT_FALSE(s.error().message.empty());
}

}  // namespace
}  // namespace marquee::state
