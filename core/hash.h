// Stable 64-bit hashing (XXH3) for ids, seeds and feature hashing.
// Stable across runs and machines, so seeds and checksums are reproducible.
#pragma once

#include <cstdint>
#include <string_view>
#include <xxhash.h>

namespace marquee::core {

inline std::uint64_t hash64(std::string_view s, std::uint64_t seed = 0) {
    return XXH3_64bits_withSeed(s.data(), s.size(), seed);
}

inline std::uint64_t mix64(std::uint64_t a, std::uint64_t b) {
    // splitmix64 finaliser over a ^ rotated b: cheap and well distributed.
    std::uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace marquee::core
