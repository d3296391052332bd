// decision ids: 32 hex digits that sort by serving time and name the
// instance that served them: the wall clock in ms (12 digits), the serving
// instance's tag (4), then 64 random bits (16). Serving makes them; ingest
// reads the tag of an id it cannot find, to tell another instance's
// decision from an unknown one.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include "core/rng.h"
#include "core/wall_clock.h"

namespace marquee::core {

// Time first so that ids sort by serving time: each decision's RocksDB
// insert lands next to the previous one instead of at a random place.
inline std::string new_decision_id(std::uint16_t instance) {
    thread_local core::splitmix64 rng(std::random_device{}() ^
                                      (std::uint64_t(std::hash<std::thread::id>{}(std::this_thread::get_id())) << 1) ^
                                      std::uint64_t(wall_clock_ms()));
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(32, '0');
    auto put = [&](std::size_t at, std::uint64_t v, std::size_t digits) {
        for (std::size_t i = digits; i-- > 0; v >>= 4) id[at + i] = hex[v & 15];
    };
    put(0, std::uint64_t(wall_clock_ms()), 12);
    put(12, instance, 4);
    put(16, rng(), 16);
    return id;
}

// The instance tag of an id shaped like new_decision_id's; nullopt for any
// other id (client-made, or malformed).
inline std::optional<std::uint16_t> decision_instance(std::string_view id) {
    if (id.size() != 32) return std::nullopt;
    std::uint32_t tag = 0;
    for (std::size_t i = 0; i < 32; ++i) {
        const char c = id[i];
        const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0) return std::nullopt;
        if (i >= 12 && i < 16) tag = tag * 16 + std::uint32_t(digit);
    }
    return std::uint16_t(tag);
}

// The tag of the instance that made `id` when that is not `self` (this
// instance's tag); nullopt for this instance's ids and ids of other shapes.
inline std::optional<std::uint16_t> other_instance(std::string_view id, std::uint16_t self) {
    const auto tag = decision_instance(id);
    if (tag && *tag == self) return std::nullopt;
    return tag;
}

}  // namespace marquee::core
