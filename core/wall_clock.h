// wall_clock_ms: Unix time in milliseconds, the clock of serving times,
// reward windows and decision TTLs (event times come from the events).
#pragma once

#include <chrono>
#include <cstdint>

namespace marquee::core {

inline std::int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace marquee::core
