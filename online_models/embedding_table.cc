#include "online_models/embedding_table.h"

#include <cmath>
#include <numbers>

#include "core/hash.h"

namespace marquee::online_models {

std::size_t string_hash::operator()(std::string_view s) const noexcept { return core::hash64(s); }

void init_vector(std::string_view id, std::uint64_t seed, float scale, float* out, int dim) {
    std::uint64_t state = core::hash64(id, seed);
    auto uniform = [&state] {
        state = core::mix64(state, 0x2545F4914F6CDD1DULL);
        return (double(state >> 11) + 0.5) * 0x1.0p-53;  // (0, 1)
    };
    for (int i = 0; i < dim; ++i) {
        // Box-Muller: two uniforms -> one standard normal.
        double u1 = uniform(), u2 = uniform();
        double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
        out[i] = static_cast<float>(z * scale);
    }
}

std::optional<std::uint32_t> embedding_table::find(std::string_view id) const {
    auto it = index_.find(id);
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

std::uint32_t embedding_table::insert(std::string_view id, const float* initial) {
    if (auto found = find(id)) return *found;
    auto row = static_cast<std::uint32_t>(ids_.size());
    ids_.emplace_back(id);
    data_.insert(data_.end(), initial, initial + dim_);
    index_.emplace(ids_.back(), row);
    return row;
}

}  // namespace marquee::online_models
