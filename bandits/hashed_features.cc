#include "bandits/hashed_features.h"

#include <algorithm>

#include "core/hash.h"

namespace marquee::bandits {

namespace {

struct keyed {
    std::uint64_t key;
    double value;
};

// One namespace's features as (64-bit key, value) before masking, so the
// interactions hash full keys rather than already-collided indices.
void keys_of(std::span<const named_feature> features, std::string_view ns_name, std::vector<keyed>& out) {
    const std::uint64_t ns = core::hash64(ns_name);
    for (const auto& f : features) {
        const std::uint64_t name_key = core::hash64(f.name, ns);
        if (const auto* number = std::get_if<double>(&f.value)) {
            out.push_back({name_key, *number});
        } else if (const auto* text = std::get_if<std::string>(&f.value)) {
            out.push_back({core::hash64(*text, name_key), 1.0});
        } else {
            for (const auto& tag : std::get<std::vector<std::string>>(f.value))
                out.push_back({core::hash64(tag, name_key), 1.0});
        }
    }
}

}  // namespace

void hash_features(std::span<const named_feature> context, std::span<const named_feature> candidate,
                   const hashing_options& options, std::vector<hashed_feature>& out) {
    out.clear();
    const std::uint64_t mask = (std::uint64_t{1} << std::clamp(options.bits, 1, 30)) - 1;
    std::vector<keyed> c, a;
    keys_of(context, "c", c);
    keys_of(candidate, "a", a);
    auto emit = [&](std::uint64_t key, double value) {
        if (value != 0.0) out.push_back({std::uint32_t(key & mask), value});
    };
    emit(core::hash64("bias", core::hash64("constant")), 1.0);
    for (const auto& f : c) emit(f.key, f.value);
    for (const auto& f : a) emit(f.key, f.value);
    if (options.interactions)
        for (const auto& x : c)
            for (const auto& y : a) emit(core::mix64(x.key, y.key), x.value * y.value);
    std::sort(out.begin(), out.end(), [](const auto& l, const auto& r) { return l.index < r.index; });
    // Merge collisions: each index once, values summed.
    std::size_t w = 0;
    for (std::size_t r = 0; r < out.size(); ++r) {
        if (w > 0 && out[w - 1].index == out[r].index) out[w - 1].value += out[r].value;
        else out[w++] = out[r];
    }
    out.resize(w);
}

std::vector<hashed_feature> hash_features(std::span<const named_feature> context,
                                          std::span<const named_feature> candidate, const hashing_options& options) {
    std::vector<hashed_feature> out;
    hash_features(context, candidate, options, out);
    return out;
}

}  // namespace marquee::bandits
