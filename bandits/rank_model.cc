#include "bandits/rank_model.h"

#include <algorithm>
#include <cstring>

#include "bandits/linear_ts.h"

namespace marquee::bandits {

namespace {

constexpr char format_version = 1;

int dim_for(const rank_model_options& o) { return (1 << std::clamp(o.bits, 1, 20)) + known_dim; }

ridge_options ridge_for(const rank_model_options& o) { return {.lambda = o.lambda, .track_cholesky = true}; }

template <class T>
void put(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class T>
bool take(std::string_view& in, T& v) {
    if (in.size() < sizeof v) return false;
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return true;
}

}  // namespace

rank_model::rank_model(rank_model_options options)
    : options_(options), model_(ridge_for(options), dim_for(options)),
      a_(ridge_model<Eigen::Dynamic>::matrix::Identity(dim_for(options), dim_for(options)) * options.lambda) {}

rank_model::rank_model(rank_model_options options, ridge_model<Eigen::Dynamic> model,
                       ridge_model<Eigen::Dynamic>::matrix a)
    : options_(options), model_(std::move(model)), a_(std::move(a)) {}

void rank_model::update(const vector& x, double reward) {
    model_.update(x, reward);
    a_.noalias() += x * x.transpose();
}

void rank_model::revert(const vector& x, double reward) {
    a_.noalias() -= x * x.transpose();
    vector b = model_.b() - reward * x;
    const auto updates = model_.updates() > 0 ? model_.updates() - 1 : 0;
    model_ = ridge_model<Eigen::Dynamic>(ridge_for(options_), a_, b, updates);
}

void rank_model::encode(std::span<const hashed_feature> hashed, const known_signals& known, vector& out) const {
    const int hashed_dim = dim() - known_dim;
    out.setZero(dim());
    for (const auto& f : hashed)
        if (int(f.index) < hashed_dim) out[f.index] += f.value;
    if (known.known) {
        out[hashed_dim] = 1.0;
        out[hashed_dim + 1] = std::clamp(known.affinity, -4.0, 4.0) / 4.0;
        out[hashed_dim + 2] = known.popularity;
        out[hashed_dim + 3] = known.recency;
    }
}

std::vector<slot> rank_model::choose(std::span<const vector> candidates, const slate_options& options,
                                     std::uint64_t seed) const {
    ridge_scorer<Eigen::Dynamic> view(model_, candidates, options_.alpha, options_.v);
    return fill_slate(view, options, slate_inputs{.meta = {}, .forced = {}, .seed = seed});
}

// Layout: version byte, i32 bits, i32 dim, u64 updates, b (dim doubles),
// then A's upper triangle row by row (dim (dim + 1) / 2 doubles), host order.
std::string rank_model::serialize() const {
    const int d = dim();
    std::string out;
    out.reserve(17 + std::size_t(d) * 8 + std::size_t(d) * (d + 1) / 2 * 8);
    out.push_back(format_version);
    put(out, std::int32_t(options_.bits));
    put(out, std::int32_t(d));
    put(out, std::uint64_t(model_.updates()));
    out.append(reinterpret_cast<const char*>(model_.b().data()), std::size_t(d) * sizeof(double));
    for (int r = 0; r < d; ++r)
        for (int c = r; c < d; ++c) put(out, a_(r, c));
    return out;
}

core::result<rank_model> rank_model::deserialize(std::string_view bytes, rank_model_options options) {
    if (bytes.empty() || bytes[0] != format_version) return core::error{"corrupt_state", "rank model: bad version"};
    bytes.remove_prefix(1);
    std::int32_t bits = 0, d = 0;
    std::uint64_t updates = 0;
    if (!take(bytes, bits) || !take(bytes, d) || !take(bytes, updates))
        return core::error{"corrupt_state", "rank model: short header"};
    if (bits != options.bits || d != dim_for(options))
        return core::error{"config", "stored rank model has bits " + std::to_string(bits) + " but rank.bits is " +
                                         std::to_string(options.bits)};
    if (bytes.size() != std::size_t(d) * 8 + std::size_t(d) * (d + 1) / 2 * 8)
        return core::error{"corrupt_state", "rank model: bad length"};
    vector b(d);
    std::memcpy(b.data(), bytes.data(), std::size_t(d) * 8);
    bytes.remove_prefix(std::size_t(d) * 8);
    ridge_model<Eigen::Dynamic>::matrix a(d, d);
    for (int r = 0; r < d; ++r)
        for (int c = r; c < d; ++c) {
            double v;
            take(bytes, v);
            a(r, c) = a(c, r) = v;
        }
    ridge_model<Eigen::Dynamic> model(ridge_for(options), a, b, updates);
    return rank_model(options, std::move(model), std::move(a));
}

}  // namespace marquee::bandits
