#include "state/store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/rate_limiter.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <span>

#include "core/byte_io.h"
#include "state/codec.h"

namespace marquee::state {

namespace {

// Column families, in handle order. "default" holds metadata.
enum cf : std::size_t {
    cf_meta, cf_users, cf_items, cf_bandit, cf_decisions, cf_offsets, cf_covisit, cf_decision_index, cf_rank, cf_count
};
constexpr const char* cf_names[cf_count] = {"default",  "users",   "items",          "bandit", "decisions",
                                            "offsets", "covisit", "decision_index", "rank"};
constexpr std::string_view key_cluster_id = "cluster_id";
constexpr std::string_view key_instance_tag = "instance_tag";
constexpr std::string_view key_version = "model_version";
constexpr std::string_view key_clock = "model_clock_ms";
constexpr std::string_view key_linucb = "linucb";

core::error from_status(const rocksdb::Status& s) { return core::error{"storage", s.ToString()}; }

// RocksDB's own log lines, in Marquee's log: warnings and errors at their
// level, the rest (option dumps, flushes, compactions) at debug. Also why
// there is no LOG file: Debian's librocksdb keeps its assertions, and its
// file logger aborts the process on a write after a failed one, so a full
// disk crashed Marquee instead of failing a write.
class spdlog_logger final : public rocksdb::Logger {
public:
    spdlog_logger() : rocksdb::Logger(rocksdb::InfoLogLevel::DEBUG_LEVEL) {}
    using rocksdb::Logger::Logv;
    void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
        const auto to = level >= rocksdb::InfoLogLevel::FATAL_LEVEL && level != rocksdb::InfoLogLevel::HEADER_LEVEL
                            ? spdlog::level::critical
                        : level == rocksdb::InfoLogLevel::ERROR_LEVEL ? spdlog::level::err
                        : level == rocksdb::InfoLogLevel::WARN_LEVEL  ? spdlog::level::warn
                                                                      : spdlog::level::debug;
        if (!spdlog::should_log(to)) return;
        char line[1024];
        const int n = std::vsnprintf(line, sizeof line, format, ap);
        if (n < 0) return;
        std::string_view text(line, std::min<std::size_t>(std::size_t(n), sizeof line - 1));
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
        spdlog::log(to, "rocksdb: {}", text);
    }
};

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

std::string offset_key(std::string_view topic, std::int32_t partition) {
    return std::string(topic) + "/" + std::to_string(partition);
}

template <class T>
std::string pod_bytes(const T& v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class T>
std::optional<T> pod_value(const std::string& bytes) {
    if (bytes.size() != sizeof(T)) return std::nullopt;
    T v;
    std::memcpy(&v, bytes.data(), sizeof v);
    return v;
}

// A fixed-size metadata record; a damaged one is an error, never a default.
template <class T>
core::result<T> meta_value(const std::string& bytes, const char* what) {
    if (auto v = pod_value<T>(bytes)) return *v;
    return core::error{"corrupt_state", std::string(what) + " record has the wrong size"};
}

// Co-visitation list of one item: version byte 1, u32 count, then per
// neighbour u32 row, f32 count, f32 error (host byte order, like items).
std::string encode_covisit(std::span<const online_models::neighbour> list) {
    std::string out;
    out.reserve(5 + list.size() * 12);
    out.push_back(char(1));
    const auto n = static_cast<std::uint32_t>(list.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    for (const auto& e : list) {
        out.append(reinterpret_cast<const char*>(&e.row), 4);
        out.append(reinterpret_cast<const char*>(&e.count), 4);
        out.append(reinterpret_cast<const char*>(&e.error), 4);
    }
    return out;
}

core::result<std::vector<online_models::neighbour>> decode_covisit(std::string_view bytes) {
    std::uint32_t n = 0;
    if (bytes.size() < 5 || bytes[0] != char(1)) return core::error{"corrupt_state", "covisit: bad header"};
    std::memcpy(&n, bytes.data() + 1, 4);
    if (bytes.size() != 5 + std::size_t(n) * 12) return core::error{"corrupt_state", "covisit: bad length"};
    std::vector<online_models::neighbour> list(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        const char* p = bytes.data() + 5 + std::size_t(i) * 12;
        std::memcpy(&list[i].row, p, 4);
        std::memcpy(&list[i].count, p + 4, 4);
        std::memcpy(&list[i].error, p + 8, 4);
    }
    return list;
}

// Decision index keys (values empty), big-endian times so keys sort by time:
//   't' served_ms decision_id                   by serving time (expiry)
//   'u' len(user) user served_ms decision_id    by user (rewards without an id)
std::string time_key(std::int64_t served_ms, std::string_view id) {
    std::string k = "t";
    core::append_ordered(k, served_ms);
    k += id;
    return k;
}

std::string user_prefix(std::string_view user) {
    std::string k = "u";
    const auto n = std::uint32_t(user.size());
    for (int shift = 24; shift >= 0; shift -= 8) k.push_back(char((n >> shift) & 0xff));
    k += user;
    return k;
}

std::string user_key(std::string_view user, std::int64_t served_ms, std::string_view id) {
    std::string k = user_prefix(user);
    core::append_ordered(k, served_ms);
    k += id;
    return k;
}

}  // namespace

struct write_set::impl {
    rocksdb::WriteBatch batch;
    const std::vector<rocksdb::ColumnFamilyHandle*>* handles;
    rocksdb::ColumnFamilyHandle* h(cf c) const { return (*handles)[c]; }
};

write_set::write_set(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
write_set::~write_set() = default;
write_set::write_set(write_set&&) noexcept = default;

void write_set::put_user(std::string_view id, const engine::user_state& user) {
    impl_->batch.Put(impl_->h(cf_users), slice(id), encode_user(user));
}

void write_set::put_item(const engine::model& m, std::uint32_t row) {
    impl_->batch.Put(impl_->h(cf_items), m.items().id(row),
                     encode_item(row, m.items().row(row).data(), m.dim(), m.stats(row)));
    put_covisit(m, row);
}

void write_set::put_covisit(const engine::model& m, std::uint32_t row) {
    auto list = m.covisit().neighbours(row);
    if (list.empty()) return;  // lists never shrink to empty: nothing to clear
    impl_->batch.Put(impl_->h(cf_covisit), m.items().id(row), encode_covisit(list));
}

void write_set::put_bandit(const engine::model& m) {
    impl_->batch.Put(impl_->h(cf_bandit), slice(key_linucb), m.bandit().serialize());
}

void write_set::put_model_meta(const engine::model& m) {
    impl_->batch.Put(impl_->h(cf_meta), slice(key_version), pod_bytes(m.version()));
    impl_->batch.Put(impl_->h(cf_meta), slice(key_clock), pod_bytes(m.clock_ms()));
}

void write_set::put_decision(std::string_view id, const engine::pending_decision& d) {
    impl_->batch.Put(impl_->h(cf_decisions), slice(id), encode_decision(d));
    impl_->batch.Put(impl_->h(cf_decision_index), time_key(d.served_ms, id), rocksdb::Slice());
    impl_->batch.Put(impl_->h(cf_decision_index), user_key(d.user_id, d.served_ms, id), rocksdb::Slice());
}

void write_set::erase_decision(std::string_view id, const engine::pending_decision& d) {
    impl_->batch.Delete(impl_->h(cf_decisions), slice(id));
    impl_->batch.Delete(impl_->h(cf_decision_index), time_key(d.served_ms, id));
    impl_->batch.Delete(impl_->h(cf_decision_index), user_key(d.user_id, d.served_ms, id));
}

void write_set::put_offset(const partition_offset& o) {
    impl_->batch.Put(impl_->h(cf_offsets), offset_key(o.topic, o.partition), pod_bytes(o.next_offset));
}

std::size_t write_set::count() const { return std::size_t(impl_->batch.Count()); }

struct store::impl {
    store_options options;
    std::unique_ptr<rocksdb::DB> db;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::WriteOptions write_options;
    std::shared_ptr<rocksdb::Statistics> statistics;
    std::uint16_t instance_tag = 0;

    ~impl() {
        for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
        if (db) db->Close().PermitUncheckedError();
    }
    rocksdb::ColumnFamilyHandle* h(cf c) const { return handles[c]; }

    core::result<std::optional<std::string>> get(cf c, std::string_view key) const {
        std::string value;
        auto s = db->Get(rocksdb::ReadOptions(), h(c), slice(key), &value);
        if (s.IsNotFound()) return std::optional<std::string>();
        if (!s.ok()) return from_status(s);
        return std::optional<std::string>(std::move(value));
    }
};

store::store(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
store::~store() = default;

bool store::in_use(const std::string& path) {
    const int fd = ::open((std::filesystem::path(path) / "LOCK").c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    // RocksDB takes a POSIX write lock on the whole LOCK file.
    const bool held = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
    ::close(fd);
    return held;
}

core::result<std::unique_ptr<store>> store::open(const store_options& options) {
    if (options.path.empty()) return core::error{"config", "state.data_dir must be set"};
    // Checked here: RocksDB creates the directory before it finds no database.
    if (!options.create_if_missing && !std::filesystem::exists(std::filesystem::path(options.path) / "CURRENT"))
        return core::error{"not_found", "no state in " + options.path + " (no RocksDB database there)"};
    if (std::error_code ec; std::filesystem::is_directory(options.path, ec) &&
                            !std::filesystem::exists(std::filesystem::path(options.path) / "CURRENT", ec)) {
        for (const auto& entry : std::filesystem::directory_iterator(options.path, ec)) {
            const auto name = entry.path().filename().string();
            if (entry.path().extension() == ".sst" || name.starts_with("MANIFEST-"))
                return core::error{"storage", "Corruption: " + options.path + " holds RocksDB files (" + name +
                                                  ") but no CURRENT; refusing to create a new database over them "
                                                  "(restore CURRENT, or move the directory away to start afresh)"};
        }
    }
    // Made here: RocksDB logs a missing directory as an error before it
    // creates it, an alarm on every first start.
    if (options.create_if_missing) {
        std::error_code made;
        std::filesystem::create_directories(options.path, made);
        if (made) return core::error{"storage", "creating " + options.path + ": " + made.message()};
    }
    rocksdb::Options db_options;
    db_options.create_if_missing = options.create_if_missing;
    db_options.create_missing_column_families = true;
    db_options.IncreaseParallelism(2);
    db_options.info_log = std::make_shared<spdlog_logger>();
    // Serving writes one small decision per request into the database that
    // ingest commits large batches to. With ordered writes a decision waits
    // for a whole batch's memtable inserts (the recommendation request with
    // it: ~20 ms per batch, measured). Unordered writes keep the WAL order,
    // so recovery is unchanged; they give up only all-or-nothing visibility
    // of a batch to other threads' reads (serving reads single records, and
    // a decision index entry without its decision is skipped) and immutable
    // snapshots (only `state checksum` takes one, on a store it has opened).
    db_options.unordered_write = true;
    if (options.background_write_bytes_per_s > 0)
        db_options.rate_limiter.reset(
            rocksdb::NewGenericRateLimiter(std::int64_t(options.background_write_bytes_per_s)));
    if (options.background_low_priority)
        for (auto pool : {rocksdb::Env::Priority::LOW, rocksdb::Env::Priority::HIGH}) {
            auto s = db_options.env->LowerThreadPoolCPUPriority(pool, rocksdb::CpuPriority::kLow);
            if (!s.ok() && !s.IsNotSupported()) return from_status(s);
        }
    // Tickers only (no per-operation timers): enough for write-stall time.
    db_options.statistics = rocksdb::CreateDBStatistics();
    db_options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptDetailedTimers);
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    rocksdb::ColumnFamilyOptions cf_options;
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (auto* name : cf_names) families.emplace_back(name, cf_options);
    auto i = std::make_unique<impl>();
    i->options = options;
    i->statistics = db_options.statistics;
    i->write_options.sync = options.sync_writes;
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(db_options, options.path, families, &i->handles, &raw);
    // RocksDB's message for a LOCK another process holds names neither.
    if (s.IsIOError() && s.ToString().find("While lock file") != std::string::npos)
        return core::error{"storage", options.path + " is in use by another process (a running Marquee holds its "
                                                     "RocksDB LOCK): stop it, or use another state.data_dir (" +
                                          s.ToString() + ")"};
    if (!s.ok()) return from_status(s);
    i->db.reset(raw);
    auto tag = i->get(cf_meta, key_instance_tag);
    if (!tag) return tag.error();
    if (tag.value()) {
        // Decisions already served carry it: a new one would disown them.
        auto stored = meta_value<std::uint16_t>(*tag.value(), "instance tag");
        if (!stored) return stored.error();
        i->instance_tag = stored.value();
    } else {
        i->instance_tag = std::uint16_t(std::random_device{}());
        s = i->db->Put(i->write_options, i->h(cf_meta), slice(key_instance_tag), pod_bytes(i->instance_tag));
        if (!s.ok()) return from_status(s);
    }
    return std::unique_ptr<store>(new store(std::move(i)));
}

core::result<std::optional<engine::user_state>> store::get_user(std::string_view id) const {
    auto bytes = impl_->get(cf_users, id);
    if (!bytes) return bytes.error();
    if (!bytes.value()) return std::optional<engine::user_state>();
    auto user = decode_user(*bytes.value());
    if (!user) return user.error();
    return std::optional<engine::user_state>(std::move(user).value());
}

core::result<std::optional<engine::pending_decision>> store::get_decision(std::string_view id) const {
    auto bytes = impl_->get(cf_decisions, id);
    if (!bytes) return bytes.error();
    if (!bytes.value()) return std::optional<engine::pending_decision>();
    auto d = decode_decision(*bytes.value());
    if (!d) return d.error();
    return std::optional<engine::pending_decision>(std::move(d).value());
}

core::result<void> store::user_decisions(std::string_view user_id, std::int64_t from_ms, std::int64_t to_ms,
                                         const std::function<bool(stored_decision&&)>& visit) const {
    const std::string prefix = user_prefix(user_id);
    // Keys are prefix, time, id: every key of to_ms sorts before `after`.
    std::string after = prefix;
    core::append_ordered(after, to_ms == std::numeric_limits<std::int64_t>::max() ? to_ms : to_ms + 1);
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf_decision_index)));
    for (it->SeekForPrev(slice(after)); it->Valid() && it->key().starts_with(prefix); it->Prev()) {
        const auto key = it->key();
        if (key.size() < prefix.size() + 8) return core::error{"corrupt_state", "short decision index key"};
        if (core::read_ordered(key.data() + prefix.size()) < from_ms) break;
        const std::string_view id(key.data() + prefix.size() + 8, key.size() - prefix.size() - 8);
        auto d = get_decision(id);
        if (!d) return d.error();
        // A dangling index entry (decision erased by another writer) is skipped.
        if (d.value() && !visit({std::string(id), std::move(*d.value())})) return core::success();
    }
    if (!it->status().ok()) return from_status(it->status());
    return core::success();
}

core::result<std::vector<store::stored_decision>> store::decisions_served_before(std::int64_t before_ms,
                                                                                  std::size_t limit) const {
    std::vector<stored_decision> out;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf_decision_index)));
    for (it->Seek("t"); it->Valid() && out.size() < limit; it->Next()) {
        const auto key = it->key();
        if (key.empty() || key[0] != 't') break;
        if (key.size() < 9) return core::error{"corrupt_state", "short decision index key"};
        if (core::read_ordered(key.data() + 1) >= before_ms) break;
        const std::string_view id(key.data() + 9, key.size() - 9);
        auto d = get_decision(id);
        if (!d) return d.error();
        if (d.value()) out.push_back({std::string(id), std::move(*d.value())});
    }
    if (!it->status().ok()) return from_status(it->status());
    return out;
}

write_set store::begin() const {
    auto i = std::make_unique<write_set::impl>();
    i->handles = &impl_->handles;
    return write_set(std::move(i));
}

core::result<void> store::commit(write_set& changes) {
    auto s = impl_->db->Write(impl_->write_options, &changes.impl_->batch);
    if (!s.ok()) return from_status(s);
    changes.impl_->batch.Clear();
    return core::success();
}

core::result<void> store::sync_wal() {
    if (impl_->write_options.sync) return core::success();
    auto s = impl_->db->SyncWAL();
    if (!s.ok()) return from_status(s);
    return core::success();
}

core::result<void> store::load_model(engine::model& m) const {
    std::vector<std::pair<std::string, item_row>> rows;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf_items)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        auto row = decode_item(std::string_view(it->value().data(), it->value().size()));
        if (!row) return row.error();
        if (int(row.value().embedding.size()) != m.dim())
            return core::error{"config", "stored item vectors have dimension " +
                                             std::to_string(row.value().embedding.size()) +
                                             " but model.dim is " + std::to_string(m.dim())};
        rows.emplace_back(it->key().ToString(), std::move(row).value());
    }
    if (!it->status().ok()) return from_status(it->status());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.row < b.second.row; });
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (rows[r].second.row != r) return core::error{"corrupt_state", "item rows are not contiguous"};
        m.restore_item(rows[r].first, rows[r].second.embedding.data(), rows[r].second.stats);
    }

    // Co-visitation lists, keyed by item id; neighbours refer to item rows,
    // which the item records above restore exactly.
    std::unique_ptr<rocksdb::Iterator> cv(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf_covisit)));
    for (cv->SeekToFirst(); cv->Valid(); cv->Next()) {
        auto row = m.items().find(std::string_view(cv->key().data(), cv->key().size()));
        auto list = decode_covisit(std::string_view(cv->value().data(), cv->value().size()));
        if (!list) return list.error();
        if (!row) return core::error{"corrupt_state", "covisit list of unknown item " + cv->key().ToString()};
        for (const auto& e : list.value())
            if (e.row >= m.items().size()) return core::error{"corrupt_state", "covisit neighbour row out of range"};
        m.covisit().restore(*row, std::move(list).value());
    }
    if (!cv->status().ok()) return from_status(cv->status());

    auto version = impl_->get(cf_meta, key_version);
    auto clock = impl_->get(cf_meta, key_clock);
    if (!version) return version.error();
    if (!clock) return clock.error();
    // A damaged record is an error, never 0: a reset clock would stall
    // reward windows and popularity decay.
    if (version.value()) {
        auto v = meta_value<std::uint64_t>(*version.value(), "model version");
        if (!v) return v.error();
        m.set_version(v.value());
    }
    if (clock.value()) {
        auto c = meta_value<std::int64_t>(*clock.value(), "model clock");
        if (!c) return c.error();
        m.advance_clock(c.value());
    }

    // Last, so that a bandit of another feature map leaves the rest loaded.
    auto bandit = impl_->get(cf_bandit, key_linucb);
    if (!bandit) return bandit.error();
    if (bandit.value()) {
        auto p = bandits::linucb_policy::deserialize(*bandit.value(), m.options().bandit);
        if (!p) return p.error();
        m.bandit() = std::move(p).value();
    }
    return core::success();
}

core::result<std::vector<partition_offset>> store::offsets() const {
    std::vector<partition_offset> out;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf_offsets)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        const std::string_view key(it->key().data(), it->key().size());
        const auto slash = key.rfind('/');
        const auto value = pod_value<std::int64_t>(it->value().ToString());
        std::int32_t partition = -1;
        const auto digits = slash == std::string_view::npos ? std::string_view() : key.substr(slash + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), partition);
        if (!value || digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
            return core::error{"corrupt", "malformed stored offset '" + std::string(key) + "'"};
        out.push_back({std::string(key.substr(0, slash)), partition, *value});
    }
    if (!it->status().ok()) return from_status(it->status());
    return out;
}

core::result<std::optional<std::int64_t>> store::offset(std::string_view topic, std::int32_t partition) const {
    auto v = impl_->get(cf_offsets, offset_key(topic, partition));
    if (!v) return v.error();
    if (!v.value()) return std::optional<std::int64_t>();
    auto offset = pod_value<std::int64_t>(*v.value());
    if (!offset) return core::error{"corrupt", "malformed stored offset of " + offset_key(topic, partition)};
    return offset;
}

std::uint16_t store::instance_tag() const { return impl_->instance_tag; }

core::result<std::string> store::cluster_id() const {
    auto v = impl_->get(cf_meta, key_cluster_id);
    if (!v) return v.error();
    return v.value() ? *v.value() : std::string();
}

core::result<void> store::reset_offsets(std::string_view cluster_id) {
    // Every key of the family, malformed ones too: a reset starts clean.
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf_offsets)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) batch.Delete(impl_->h(cf_offsets), it->key());
    if (!it->status().ok()) return from_status(it->status());
    batch.Put(impl_->h(cf_meta), slice(key_cluster_id), slice(cluster_id));
    auto s = impl_->db->Write(impl_->write_options, &batch);
    if (!s.ok()) return from_status(s);
    return core::success();
}

core::result<std::uint64_t> store::checksum() const {
    XXH3_state_t* state = XXH3_createState();
    XXH3_64bits_reset(state);
    const rocksdb::Snapshot* snap = impl_->db->GetSnapshot();
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    core::result<std::uint64_t> result = std::uint64_t{0};
    for (cf c : {cf_users, cf_items, cf_bandit, cf_covisit}) {
        std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->h(c)));
        XXH3_64bits_update(state, &c, sizeof c);
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
            auto k = it->key(), v = it->value();
            std::uint64_t lens[2] = {k.size(), v.size()};
            XXH3_64bits_update(state, lens, sizeof lens);
            XXH3_64bits_update(state, k.data(), k.size());
            XXH3_64bits_update(state, v.data(), v.size());
        }
        if (!it->status().ok()) result = from_status(it->status());
    }
    impl_->db->ReleaseSnapshot(snap);
    if (result) result = std::uint64_t(XXH3_64bits_digest(state));
    XXH3_freeState(state);
    return result;
}

store_stats store::stats() const {
    auto& db = *impl_->db;
    auto sum = [&](const std::string& name) {
        std::uint64_t total = 0;
        for (auto* h : impl_->handles) {
            std::uint64_t v = 0;
            if (db.GetIntProperty(h, name, &v)) total += v;
        }
        return total;
    };
    store_stats s;
    s.live_sst_bytes = sum(rocksdb::DB::Properties::kLiveSstFilesSize);
    s.memtable_bytes = sum(rocksdb::DB::Properties::kCurSizeAllMemTables);
    s.pending_compaction_bytes = sum(rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
    db.GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &s.running_compactions);
    std::uint64_t stopped = 0;
    db.GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &stopped);
    s.write_stopped = stopped != 0;
    db.GetIntProperty(rocksdb::DB::Properties::kActualDelayedWriteRate, &s.delayed_write_rate);
    if (impl_->statistics) s.stall_micros = impl_->statistics->getTickerCount(rocksdb::STALL_MICROS);
    db.GetIntProperty(impl_->h(cf_decisions), rocksdb::DB::Properties::kEstimateNumKeys, &s.pending_decisions);
    if (const auto& limiter = db.GetDBOptions().rate_limiter)
        s.background_write_limit = std::uint64_t(limiter->GetBytesPerSecond());
    return s;
}

// ---- rank ------------------------------------------------------------------

core::result<std::optional<std::string>> store::get_rank(std::string_view key) const {
    return impl_->get(cf_rank, key);
}

core::result<void> store::put_rank(std::span<const std::pair<std::string_view, std::string_view>> entries,
                                   std::string_view erase_from, std::string_view erase_to,
                                   std::span<const std::string> erase) {
    rocksdb::WriteBatch batch;
    if (!erase_to.empty()) batch.DeleteRange(impl_->h(cf_rank), slice(erase_from), slice(erase_to));
    for (const auto& k : erase) batch.Delete(impl_->h(cf_rank), slice(k));
    for (const auto& [k, v] : entries) batch.Put(impl_->h(cf_rank), slice(k), slice(v));
    auto s = impl_->db->Write(impl_->write_options, &batch);
    if (!s.ok()) return from_status(s);
    return core::success();
}

core::result<void> store::scan_rank(
    std::string_view prefix, const std::function<bool(std::string_view key, std::string_view value)>& visit) const {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf_rank)));
    for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next())
        if (!visit(std::string_view(it->key().data(), it->key().size()),
                   std::string_view(it->value().data(), it->value().size())))
            break;
    if (!it->status().ok()) return from_status(it->status());
    return core::success();
}

}  // namespace marquee::state
