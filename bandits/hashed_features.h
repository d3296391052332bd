// hashed_features: named features (numbers, strings, string lists) hashed
// into a 2^bits space, with quadratic context x candidate interactions and a
// bias, as Vowpal Wabbit does with -b and -q. Pure and deterministic (XXH3
// via core/hash.h): the same input gives the same indices on every machine.
//
// Hashing (h = core::hash64, & mask = keep the low `bits` bits):
//   namespace seed   ns   = h(namespace)        "c" for context, "a" for a candidate
//   numeric          key  = h(name, ns)                     value = the number
//   string           key  = h(value, h(name, ns))           value = 1
//   list of strings  one string feature per tag             value = 1 each
//   interaction      key  = mix64(key_context, key_candidate), value = product
//   bias             key  = h("bias", h("constant"))        value = 1
// index = key & (2^bits - 1); collisions add up. The output is sorted by
// index with each index once. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace marquee::bandits {

// Largest magnitude of a numeric feature value the rank model takes. Values
// multiply into the context x candidate interactions and enter the ridge
// statistics squared: at 1e3 an interaction term reaches 1e6 and x'x ~1e12,
// where the model's Sherman-Morrison A^-1 still matches the exact ridge
// solution (a test checks); at 1e5 it no longer does, and at 1e6 A^-1 lost
// positive-definiteness within ten updates. Scale features to about [0, 1].
inline constexpr double max_feature_value = 1e3;

// One named feature: a number, a categorical string, or a set of tags.
struct named_feature {
    std::string name;
    std::variant<double, std::string, std::vector<std::string>> value;
};

struct hashed_feature {
    std::uint32_t index = 0;
    double value = 0.0;
};

struct hashing_options {
    // Size of the hashed space: 2^bits. Default: 8 (256 weights).
    int bits = 8;
    // Add context x candidate products (VW's -q ca). Default: true.
    bool interactions = true;
};

// The hashed features of one (context, candidate) pair; `out` is cleared.
void hash_features(std::span<const named_feature> context, std::span<const named_feature> candidate,
                   const hashing_options& options, std::vector<hashed_feature>& out);
std::vector<hashed_feature> hash_features(std::span<const named_feature> context,
                                          std::span<const named_feature> candidate, const hashing_options& options);

}  // namespace marquee::bandits
