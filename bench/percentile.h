// percentile: how every benchmark here reports latency quantiles, the
// nearest-rank percentile (p in percent) of values sorted ascending.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace marquee::bench {

inline double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return NAN;
    const auto rank = std::size_t(std::ceil(p / 100.0 * double(sorted.size())));
    return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace marquee::bench
