#include "bandits/rank_model.h"

#include <algorithm>
#include <cmath>

#include "bandits/linear_ts.h"
#include "core/byte_io.h"

namespace marquee::bandits {

namespace {

constexpr char format_version = 1;

int dim_for(const rank_model_options& o) { return (1 << std::clamp(o.bits, 1, 20)) + known_dim; }

ridge_options ridge_for(const rank_model_options& o) { return {.lambda = o.lambda, .track_cholesky = true}; }

}  // namespace

rank_model::rank_model(rank_model_options options)
    : options_(options), model_(ridge_for(options), dim_for(options)),
      a_(ridge_model<Eigen::Dynamic>::matrix::Identity(dim_for(options), dim_for(options)) * options.lambda) {}

rank_model::rank_model(rank_model_options options, ridge_model<Eigen::Dynamic> model,
                       ridge_model<Eigen::Dynamic>::matrix a)
    : options_(options), model_(std::move(model)), a_(std::move(a)) {}

namespace {

// ridge_scorer's numbers over sparse candidates: mean theta . x, bonus
// alpha sqrt(x' A^-1 x) in O(nnz^2), Thompson draws via linear_ts.
class sparse_scorer final : public scorer {
public:
    sparse_scorer(const ridge_model<Eigen::Dynamic>& model, std::span<const sparse_x> candidates, double alpha,
                  double v)
        : model_(model), candidates_(candidates), alpha_(alpha), v_(v), theta_(model.dim()) {}
    std::size_t size() const override { return candidates_.size(); }
    void score(std::span<double> mean, std::span<double> bonus) const override {
        for (std::size_t i = 0; i < candidates_.size(); ++i) {
            mean[i] = dot(model_.theta(), candidates_[i]);
            bonus[i] = alpha_ * quadratic_width(model_, candidates_[i]);
        }
    }
    bool can_sample() const override { return true; }
    void sample(std::span<double> out, normal_source& normal) const override {
        linear_ts<Eigen::Dynamic>::draw_theta(model_, v_, normal, theta_);
        for (std::size_t i = 0; i < candidates_.size(); ++i) out[i] = dot(theta_, candidates_[i]);
    }

    static double dot(const Eigen::VectorXd& w, const sparse_x& x) {
        double s = 0.0;
        for (const auto& f : x) s += w[f.index] * f.value;
        return s;
    }
    static double quadratic_width(const ridge_model<Eigen::Dynamic>& m, const sparse_x& x) {
        const auto& a_inv = m.a_inverse();
        double s = 0.0;
        for (const auto& p : x)
            for (const auto& q : x) s += p.value * a_inv(p.index, q.index) * q.value;
        return std::sqrt(std::max(0.0, s));  // >= 0 in exact arithmetic
    }

private:
    const ridge_model<Eigen::Dynamic>& model_;
    std::span<const sparse_x> candidates_;
    double alpha_, v_;
    mutable Eigen::VectorXd theta_;
};

}  // namespace

void rank_model::encode(std::span<const hashed_feature> hashed, const known_signals& known, sparse_x& out) const {
    const std::uint32_t hashed_dim = std::uint32_t(dim() - known_dim);
    out.clear();
    for (const auto& f : hashed)
        if (f.index < hashed_dim) out.push_back(f);
    if (known.known) {
        const double values[known_dim] = {1.0, std::clamp(known.affinity, -4.0, 4.0) / 4.0, known.popularity,
                                          known.recency};
        for (int j = 0; j < known_dim; ++j)
            if (values[j] != 0.0) out.push_back({hashed_dim + std::uint32_t(j), values[j]});
    }
}

rank_model::vector rank_model::dense(const sparse_x& x) const {
    vector out = vector::Zero(dim());
    for (const auto& f : x)
        if (int(f.index) < dim()) out[f.index] += f.value;
    return out;
}

double rank_model::mean(const sparse_x& x) const { return sparse_scorer::dot(model_.theta(), x); }
double rank_model::width(const sparse_x& x) const { return sparse_scorer::quadratic_width(model_, x); }

bool rank_model::update(const sparse_x& x, double reward) {
    double squared = 0.0;  // NaN or inf if any value is, or if x'x overflows
    for (const auto& f : x) squared += f.value * f.value;
    if (!std::isfinite(squared) || !std::isfinite(reward)) return false;
    scratch_ = dense(x);
    model_.update(scratch_, reward);
    for (const auto& p : x)
        for (const auto& q : x) a_(p.index, q.index) += p.value * q.value;
    return true;
}

void rank_model::revert(const sparse_x& x, double reward) {
    for (const auto& p : x)
        for (const auto& q : x) a_(p.index, q.index) -= p.value * q.value;
    vector b = model_.b() - reward * dense(x);
    const auto updates = model_.updates() > 0 ? model_.updates() - 1 : 0;
    model_ = ridge_model<Eigen::Dynamic>(ridge_for(options_), a_, b, updates);
}

std::vector<slot> rank_model::choose(std::span<const sparse_x> candidates, const slate_options& options,
                                     std::uint64_t seed) const {
    sparse_scorer view(model_, candidates, options_.alpha, options_.v);
    return fill_slate(view, options, slate_inputs{.meta = {}, .forced = {}, .seed = seed});
}

// Layout: version byte, i32 bits, i32 dim, u64 updates, b (dim doubles),
// then A's upper triangle row by row (dim (dim + 1) / 2 doubles), host order.
std::string rank_model::serialize() const {
    const int d = dim();
    core::byte_writer w;
    w.reserve(17 + std::size_t(d) * 8 + std::size_t(d) * (d + 1) / 2 * 8);
    w.put(format_version);
    w.put(std::int32_t(options_.bits));
    w.put(std::int32_t(d));
    w.put(std::uint64_t(model_.updates()));
    w.put_bytes(model_.b().data(), std::size_t(d) * sizeof(double));
    for (int r = 0; r < d; ++r)
        for (int c = r; c < d; ++c) w.put(a_(r, c));
    return w.take();
}

core::result<rank_model> rank_model::deserialize(std::string_view bytes, rank_model_options options) {
    core::byte_reader in(bytes);
    char version = 0;
    if (!in.get(version) || version != format_version) return core::error{"corrupt_state", "rank model: bad version"};
    std::int32_t bits = 0, d = 0;
    std::uint64_t updates = 0;
    if (!in.get(bits) || !in.get(d) || !in.get(updates))
        return core::error{"corrupt_state", "rank model: short header"};
    if (bits != options.bits || d != dim_for(options))
        return core::error{"config", "stored rank model has bits " + std::to_string(bits) + " but rank.bits is " +
                                         std::to_string(options.bits)};
    if (in.remaining() != std::size_t(d) * 8 + std::size_t(d) * (d + 1) / 2 * 8)
        return core::error{"corrupt_state", "rank model: bad length"};
    vector b(d);
    in.get_bytes(b.data(), std::size_t(d) * 8);
    ridge_model<Eigen::Dynamic>::matrix a(d, d);
    for (int r = 0; r < d; ++r)
        for (int c = r; c < d; ++c) {
            double v = 0;
            in.get(v);
            a(r, c) = a(c, r) = v;
        }
    if (!a.allFinite() || !b.allFinite())
        return core::error{"non_finite", "rank model: the stored model holds a NaN or infinity"};
    ridge_model<Eigen::Dynamic> model(ridge_for(options), a, b, updates);
    return rank_model(options, std::move(model), std::move(a));
}

}  // namespace marquee::bandits
