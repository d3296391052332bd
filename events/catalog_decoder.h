// catalog_decoder: one record of the catalog topic (key = item id, value =
// item JSON, or empty = tombstone) -> validated catalog_item, or an error
// whose reason is one of decode_reasons (shared with events, so invalid
// catalog records are counted and dead-lettered the same way). Pure; not
// thread-safe (reuses its parser): one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "events/event_decoder.h"

namespace marquee::events {

struct catalog_item {
    std::string item_id;
    std::string title;
    std::vector<std::string> genres;
    std::optional<std::int64_t> release_ms;  // Unix ms; absent when unknown
    bool available = true;                   // a tombstone decodes as unavailable
};

// The wire form of `item` (what the decoder accepts); used by the demo and tests.
std::string encode_json(const catalog_item& item);

class catalog_decoder {
public:
    explicit catalog_decoder(decoder_options options = {});
    ~catalog_decoder();
    catalog_decoder(const catalog_decoder&) = delete;
    catalog_decoder& operator=(const catalog_decoder&) = delete;

    // An empty payload is a tombstone for `key` (compaction deletes it
    // later; until then it means "no longer available"). A non-empty key
    // must equal the value's item_id, or the record is invalid.
    core::result<catalog_item> decode(std::string_view key, std::string_view payload);

private:
    struct impl;
    decoder_options options_;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::events
