// model: the mutable, in-memory learned state shared by all users: item
// embeddings and statistics, and the bandit policy. Owned by the ingest
// thread (single writer); serving reads immutable model_snapshot copies.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "bandits/linucb_policy.h"
#include "events/catalog_decoder.h"
#include "online_models/covisitation.h"
#include "online_models/decayed_counter.h"
#include "online_models/embedding_table.h"
#include "online_models/implicit_mf.h"

namespace marquee::engine {

struct model_options {
    online_models::mf_options mf;
    bandits::linucb_options bandit;
    online_models::covisit_options covisit;
    // Half-life of item popularity, in hours of event time. Default: 72.
    double popularity_half_life_hours = 72.0;
    // Items shown within this many days of first appearance are "new releases". Default: 30.
    double new_release_days = 30.0;
    // Recent items kept per user (and never re-recommended). Default: 200.
    int history_size = 200;

    double half_life_ms() const { return popularity_half_life_hours * 3600e3; }
};

// Release time not known (no catalog record, or one without release_ts).
inline constexpr std::int64_t unknown_release = std::numeric_limits<std::int64_t>::min();
// first_seen_ms of an item the catalog added before any event moved the
// clock (the back catalogue of a fresh deployment or a replay): its first
// event sets it, so a bulk catalog load does not make everything "new".
inline constexpr std::int64_t not_seen_yet = std::numeric_limits<std::int64_t>::min();

struct item_stats {
    online_models::decayed_counter popularity;
    std::int64_t first_seen_ms = 0;
    // From the catalog topic. An item only ever seen in events is available
    // with no release time, title or genres.
    bool available = true;
    std::int64_t release_ms = unknown_release;
    std::string title;
    std::string genres;  // '|'-separated (genres never contain '|'), as MovieLens

    // What "new release" is measured from: the release time when the
    // catalog gives one, else first appearance (may be not_seen_yet).
    std::int64_t released_ms() const { return release_ms != unknown_release ? release_ms : first_seen_ms; }
};

class model {
public:
    explicit model(model_options options);

    const model_options& options() const { return options_; }
    int dim() const { return options_.mf.dim; }

    // Row of `item_id`, adding it (with its deterministic initial vector) if
    // new; sets first_seen_ms if it is not_seen_yet.
    std::uint32_t ensure_item(std::string_view item_id, std::int64_t first_seen_ms);
    // Applies a catalog record: the item exists from now on, with the
    // record's availability, release time, title and genres. An item new to
    // the model is first seen at the model's clock, or not_seen_yet while the
    // clock is 0 or for `back_catalogue` records (the catalog as it stood
    // when a fresh state began reading it); a record for an item the model
    // holds leaves its first-seen time alone. Returns its row.
    std::uint32_t apply_catalog(const events::catalog_item& item, bool back_catalogue = false);
    // Restores a persisted item row as it was saved.
    void restore_item(std::string_view item_id, const float* embedding, const item_stats& stats);

    online_models::embedding_table& items() { return items_; }
    const online_models::embedding_table& items() const { return items_; }
    item_stats& stats(std::uint32_t row) { return stats_[row]; }
    const item_stats& stats(std::uint32_t row) const { return stats_[row]; }

    // Item-to-item co-visitation, indexed by item row.
    online_models::covisitation& covisit() { return covisit_; }
    const online_models::covisitation& covisit() const { return covisit_; }

    bandits::linucb_policy& bandit() { return bandit_; }
    const bandits::linucb_policy& bandit() const { return bandit_; }

    // Largest event time applied so far: the model's notion of "now".
    std::int64_t clock_ms() const { return clock_ms_; }
    void advance_clock(std::int64_t ts_ms) { clock_ms_ = std::max(clock_ms_, ts_ms); }

    // Bumped by every catalog record: snapshots share the id index (and the
    // titles kept in it) until an item or a title changes.
    std::uint64_t catalog_version() const { return catalog_version_; }

    // Bumped once per applied batch; identifies the snapshot serving used.
    std::uint64_t version() const { return version_; }
    void bump_version() { ++version_; }
    void set_version(std::uint64_t v) { version_ = v; }

private:
    model_options options_;
    online_models::embedding_table items_;
    std::vector<item_stats> stats_;
    online_models::covisitation covisit_;
    bandits::linucb_policy bandit_;
    std::int64_t clock_ms_ = 0;
    std::uint64_t version_ = 0;
    std::uint64_t catalog_version_ = 0;
};

}  // namespace marquee::engine
