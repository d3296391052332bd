// decision_id: fresh 128-bit decision ids (32 hex digits) and the wall clock
// used to stamp decisions. Internal to serve/.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "core/rng.h"
#include "core/wall_clock.h"

namespace marquee::serve {

using core::wall_clock_ms;

// 32 hex digits: the wall clock in ms (48 bits), then 80 random bits from a
// per-thread generator. Time first so that ids sort by serving time: each
// decision's RocksDB insert lands next to the previous one (the memtable's
// cached insert position) instead of at a random place.
inline std::string new_decision_id() {
    thread_local core::splitmix64 rng(std::random_device{}() ^
                                      (std::uint64_t(std::hash<std::thread::id>{}(std::this_thread::get_id())) << 1) ^
                                      std::uint64_t(wall_clock_ms()));
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(32, '0');
    auto put = [&](std::size_t at, std::uint64_t v, std::size_t digits) {
        for (std::size_t i = digits; i-- > 0; v >>= 4) id[at + i] = hex[v & 15];
    };
    put(0, std::uint64_t(wall_clock_ms()), 12);
    put(12, rng(), 16);
    put(28, rng(), 4);
    return id;
}

}  // namespace marquee::serve
