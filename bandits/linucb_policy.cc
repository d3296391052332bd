#include "bandits/linucb_policy.h"

#include <cmath>
#include <cstring>

namespace marquee::bandits {

linucb_policy::linucb_policy(linucb_options options) : options_(options) {
    a_inv_ = matrix::Identity() / options_.lambda;
    b_ = options_.lambda * options_.prior;
    theta_.noalias() = a_inv_ * b_;
}

double linucb_policy::bonus(const feature_vector& x) const {
    // x' A^-1 x >= 0 in exact arithmetic; clamp rounding noise.
    return options_.alpha * std::sqrt(std::max(0.0, x.dot(a_inv_ * x)));
}

bool linucb_policy::update(const feature_vector& x, double reward) {
    if (!x.allFinite() || !std::isfinite(reward)) return false;
    // Sherman-Morrison: (A + x x')^-1 = A^-1 - (A^-1 x)(A^-1 x)' / (1 + x' A^-1 x),
    // using the symmetry of A^-1.
    const feature_vector ax = a_inv_ * x;
    const double denominator = 1.0 + x.dot(ax);
    const feature_vector b = b_ + reward * x;
    // Finite but huge features (1e160) overflow x' A^-1 x: refused before
    // they make A^-1 and theta non-finite for good.
    if (!std::isfinite(denominator) || !ax.allFinite() || !b.allFinite()) return false;
    a_inv_.noalias() -= (ax * ax.transpose()) / denominator;
    b_ = b;
    theta_.noalias() = a_inv_ * b_;
    ++updates_;
    return true;
}

namespace {
constexpr std::uint32_t serial_magic = 0x4c55'4301;  // "LUC" v1
}

std::string linucb_policy::serialize() const {
    std::string out;
    const std::uint32_t magic = serial_magic, dim = feature_dim;
    out.append(reinterpret_cast<const char*>(&magic), sizeof magic);
    out.append(reinterpret_cast<const char*>(&dim), sizeof dim);
    out.append(reinterpret_cast<const char*>(&updates_), sizeof updates_);
    out.append(reinterpret_cast<const char*>(a_inv_.data()), sizeof(double) * a_inv_.size());
    out.append(reinterpret_cast<const char*>(b_.data()), sizeof(double) * b_.size());
    return out;
}

core::result<linucb_policy> linucb_policy::deserialize(std::string_view bytes,
                                                       linucb_options options) {
    constexpr std::size_t expected = 4 + 4 + 8 + sizeof(double) * (feature_dim * feature_dim + feature_dim);
    if (bytes.size() < 8) return core::error{"corrupt_state", "linucb blob has wrong size"};
    std::uint32_t magic = 0, dim = 0;
    std::memcpy(&magic, bytes.data(), 4);
    std::memcpy(&dim, bytes.data() + 4, 4);
    if (magic != serial_magic) return core::error{"corrupt_state", "linucb blob has another version"};
    if (dim != feature_dim)
        return core::error{"feature_map_changed", "the stored LinUCB model has " + std::to_string(dim) +
                                                      " features, this build's feature map " +
                                                      std::to_string(feature_dim)};
    if (bytes.size() != expected) return core::error{"corrupt_state", "linucb blob has wrong size"};
    linucb_policy p(options);
    const char* at = bytes.data() + 8;
    std::memcpy(&p.updates_, at, 8);
    at += 8;
    std::memcpy(p.a_inv_.data(), at, sizeof(double) * p.a_inv_.size());
    at += sizeof(double) * p.a_inv_.size();
    std::memcpy(p.b_.data(), at, sizeof(double) * p.b_.size());
    p.theta_.noalias() = p.a_inv_ * p.b_;
    return p;
}

}  // namespace marquee::bandits
