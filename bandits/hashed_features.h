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
