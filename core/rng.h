// splitmix64: a tiny, fast, seedable generator for exploration and sampling.
// Satisfies UniformRandomBitGenerator; copy it to fork a stream.
#pragma once

#include <cstdint>
#include <limits>

namespace marquee::core {

class splitmix64 {
public:
    using result_type = std::uint64_t;
    explicit splitmix64(std::uint64_t seed) : state_(seed) {}

    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

    result_type operator()() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1).
    double uniform() { return double((*this)() >> 11) * 0x1.0p-53; }
    // Uniform in [0, n).
    std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>(uniform() * double(n)); }

private:
    std::uint64_t state_;
};

}  // namespace marquee::core
