#include "events/catalog_decoder.h"

#include "core/json_writer.h"
#include "events/json_input.h"

namespace marquee::events {

namespace {

using detail::fail;
namespace od = detail::od;

std::string_view type_reason(simdjson::error_code err) {
    return err == simdjson::INCORRECT_TYPE || err == simdjson::NUMBER_ERROR ? "wrong_type" : "malformed_json";
}

}  // namespace

std::string encode_json(const catalog_item& item) {
    std::string out = "{\"item_id\":";
    core::append_json_string(out, item.item_id);
    out += ",\"title\":";
    core::append_json_string(out, item.title);
    out += ",\"genres\":[";
    for (std::size_t i = 0; i < item.genres.size(); ++i) {
        if (i) out += ',';
        core::append_json_string(out, item.genres[i]);
    }
    out += ']';
    if (item.release_ms) {
        out += ",\"release_ts\":";
        core::append_json_number(out, *item.release_ms);
    }
    out += item.available ? ",\"available\":true}" : ",\"available\":false}";
    return out;
}

struct catalog_decoder::impl {
    od::parser parser;
    std::vector<char> buffer;  // payload copy with simdjson's required padding
};

catalog_decoder::catalog_decoder(decoder_options options) : options_(options), impl_(std::make_unique<impl>()) {}

catalog_decoder::~catalog_decoder() = default;

core::result<catalog_item> catalog_decoder::decode(std::string_view key, std::string_view payload) {
    if (key.size() > options_.max_id_bytes)
        return fail("invalid_value", "key is longer than " + std::to_string(options_.max_id_bytes) + " bytes");
    auto tombstone = [&]() -> core::result<catalog_item> {
        if (key.empty()) return fail("empty", "tombstone without a key names no item");
        catalog_item gone;
        gone.item_id.assign(key);
        gone.available = false;
        return gone;
    };
    if (payload.empty()) return tombstone();
    if (auto r = detail::within_size_limit(payload, options_.max_event_bytes); !r) return r.error();

    // A JSON null value is a tombstone too (some producers cannot send an
    // empty value). Compared here, not with simdjson's is_null(): 3.0.1's
    // root check reads the byte after "null " (past the payload).
    if (detail::trim_json_whitespace(payload) == "null") return tombstone();
    od::document doc;
    if (impl_->parser.iterate(detail::padded(impl_->buffer, payload)).get(doc))
        return fail("malformed_json", "not valid JSON");
    od::object obj;
    if (auto err = doc.get_object().get(obj)) return fail(type_reason(err), "catalog item must be a JSON object");

    catalog_item item;
    bool has_id = false;
    for (auto field_result : obj) {
        od::field field;
        if (std::move(field_result).get(field)) return fail("malformed_json", "not valid JSON");
        std::string_view name;
        if (field.unescaped_key().get(name)) return fail("malformed_json", "bad object key");
        od::value v = field.value();

        if (name == "item_id") {
            if (auto r = detail::read_id(v, "item_id", options_.max_id_bytes, item.item_id); !r) return r.error();
            has_id = true;
        } else if (name == "title") {
            std::string_view s;
            if (auto err = v.get_string().get(s)) return fail(type_reason(err), "title must be a string");
            item.title.assign(s);
        } else if (name == "genres") {
            od::array genres;
            if (auto err = v.get_array().get(genres)) return fail(type_reason(err), "genres must be an array of strings");
            item.genres.clear();  // a repeated key wins whole, as every other field's does
            for (auto g : genres) {
                std::string_view s;
                if (auto err = g.get_string().get(s)) return fail(type_reason(err), "genres must be an array of strings");
                // '|' separates genres in the stored item row.
                if (s.empty() || s.find('|') != std::string_view::npos)
                    return fail("invalid_value", "a genre must be non-empty and must not contain '|'");
                item.genres.emplace_back(s);
            }
        } else if (name == "release_ts") {
            std::int64_t ts = 0;
            if (auto err = detail::get_integer(v, ts))
                return fail(type_reason(err), "release_ts must be an integer (Unix milliseconds)");
            // Before 1970 is a valid release date; outside years 1 to 2999 is
            // a unit mistake (microseconds give year ~55000) that would keep
            // the item "just released" for good, or overflow an age.
            constexpr std::int64_t year_1 = -62'135'596'800'000, year_3000 = 32'503'680'000'000;
            if (ts < year_1 || ts >= year_3000)
                return fail("invalid_value", "release_ts must be Unix milliseconds between the years 1 and 2999 "
                                             "(microseconds?)");
            item.release_ms = ts;
        } else if (name == "available") {
            bool b = true;
            if (auto err = v.get_bool().get(b)) return fail(type_reason(err), "available must be a boolean");
            item.available = b;
        } else if (auto r = detail::well_formed(v, name); !r) {
            // Unknown fields are ignored for forward compatibility, but must
            // be well-formed (the iterator would skip them unchecked).
            return r.error();
        }
    }
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
        return fail("malformed_json", "trailing content after the item object");
    if (!has_id) return fail("missing_field", "missing required field 'item_id'");
    if (!key.empty() && key != item.item_id)
        return fail("invalid_value", "key '" + std::string(key) + "' differs from item_id '" + item.item_id + "'");
    return item;
}

}  // namespace marquee::events
