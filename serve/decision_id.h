// decision_id: fresh 128-bit decision ids (32 hex digits) and the wall clock
// used to stamp decisions. Internal to serve/.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "core/rng.h"
#include "core/wall_clock.h"

namespace marquee::serve {

using core::wall_clock_ms;

// 128 random bits as 32 hex digits, from a per-thread generator.
inline std::string new_decision_id() {
    thread_local core::splitmix64 rng(std::random_device{}() ^
                                      (std::uint64_t(std::hash<std::thread::id>{}(std::this_thread::get_id())) << 1) ^
                                      std::uint64_t(wall_clock_ms()));
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)rng(), (unsigned long long)rng());
    return std::string(buf, 32);
}

}  // namespace marquee::serve
