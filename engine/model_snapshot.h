// model_snapshot: an immutable copy of what serving needs from the model
// (item vectors, popularity, availability, new releases, bandit), published by the ingest
// thread through core::snapshot_cell. Safe to read from any thread.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bandits/diversity.h"
#include "bandits/linucb_policy.h"
#include "engine/model.h"
#include "engine/retrieval.h"

namespace marquee::engine {

// Genres a request filters by (item_index::genre_filter_of).
struct genre_filter {
    bandits::genre_mask mask = 0;
    std::vector<std::uint32_t> shared;  // wanted genre numbers that share the last bit
};

// Item ids and their rows, and catalog titles and genres. Shared between
// snapshots until items are added or the catalog changes.
struct item_index {
    // The last bit of a genre mask.
    static constexpr bandits::genre_mask shared_bit = bandits::genre_mask(1) << (bandits::max_genres - 1);

    std::vector<std::string> ids;
    std::vector<std::string> titles;  // "" when the catalog gave none
    // Genre g is genre_names[g], numbered in order of first appearance by
    // row (stable across replays). Bit g of a mask is genre g for g < 63;
    // genres 63 and on share bit 63, so the genre cap, MMR and the genre
    // match feature see them as one genre. The filter stays exact:
    // shared_genres holds, for each row with that bit, its genres >= 63.
    std::vector<std::string> genre_names;
    std::vector<bandits::genre_mask> genres;  // by row
    boost::unordered_flat_map<std::uint32_t, std::vector<std::uint32_t>> shared_genres;
    std::uint64_t catalog_version = 0;
    boost::unordered_flat_map<std::string, std::uint32_t, online_models::string_hash, std::equal_to<>> rows;

    std::optional<std::uint32_t> find(std::string_view id) const {
        auto it = rows.find(id);
        if (it == rows.end()) return std::nullopt;
        return it->second;
    }
    // The filter for these genre names; nullopt if one is not in the catalog.
    std::optional<genre_filter> genre_filter_of(std::span<const std::string> names) const;
    // Whether `row` has any of the filter's genres. As cheap as a mask test
    // unless the only common bit is the shared one of a catalog with more
    // than 64 genres; then the row's own genres decide.
    bool has_any(std::uint32_t row, const genre_filter& f) const {
        if (row >= genres.size()) return false;
        const bandits::genre_mask hit = genres[row] & f.mask;
        if (hit != shared_bit || genre_names.size() <= std::size_t(bandits::max_genres)) return hit != 0;
        return has_shared(row, f);
    }

private:
    bool has_shared(std::uint32_t row, const genre_filter& f) const;
};

struct snapshot_options {
    // Most popular items kept as cold-start and fallback candidates. Default: 50.
    int popular_n = 50;
    // Newest releases kept as exploration candidates. Default: 50.
    int new_release_n = 50;
    // Co-visitation neighbours copied per item (best first). Default: 20.
    int covisit_n = 20;
};

struct model_snapshot {
    std::uint64_t version = 0;
    std::int64_t clock_ms = 0;
    int dim = 0;
    double new_release_days = 0;
    std::shared_ptr<const item_index> index;
    online_models::row_matrix embeddings;   // index->ids.size() x dim
    half_matrix embeddings_half;            // for the retrieval scan; may be empty
    std::vector<float> popularity;          // decayed at clock_ms, scaled to [0, 1]
    std::vector<std::int64_t> first_seen_ms;  // release time when known, else first event (item_stats::released_ms)
    std::vector<std::uint8_t> unavailable;    // 1: never recommended (catalog says unavailable)
    std::vector<std::uint32_t> popular;       // rows, most popular first
    std::vector<std::uint32_t> new_releases;  // rows, newest first
    // Co-visitation neighbours of row r, best first:
    // covisit[covisit_offsets[r] .. covisit_offsets[r + 1]).
    std::vector<std::uint32_t> covisit_offsets;  // item_count() + 1 entries
    std::vector<online_models::neighbour> covisit;
    bandits::linucb_policy bandit;

    std::size_t item_count() const { return first_seen_ms.size(); }
    // Days from row's release (or first appearance) to clock_ms; computed in
    // double, so not_seen_yet does not overflow.
    double age_days(std::uint32_t row) const {
        return (double(clock_ms) - double(first_seen_ms[row])) / 86'400'000.0;
    }
    // The order of `popular`: more popular first, ties by row.
    bool more_popular(std::uint32_t a, std::uint32_t b) const {
        return popularity[a] > popularity[b] || (popularity[a] == popularity[b] && a < b);
    }
    std::span<const online_models::neighbour> neighbours(std::uint32_t row) const {
        if (std::size_t(row) + 1 >= covisit_offsets.size()) return {};
        return std::span<const online_models::neighbour>(covisit).subspan(
            covisit_offsets[row], covisit_offsets[row + 1] - covisit_offsets[row]);
    }
};

// Copies the model into a new snapshot, reusing `previous->index` when no
// item was added since it was taken.
std::shared_ptr<const model_snapshot> take_snapshot(const model& m, const snapshot_options& options,
                                                    const model_snapshot* previous);

}  // namespace marquee::engine
