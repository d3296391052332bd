// embedding_table: id -> row of a contiguous row-major float matrix, so
// retrieval is one Eigen matrix-vector product over all rows.
// Not thread-safe; a single writer owns it and serving reads copies.
#pragma once

#include <Eigen/Core>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::online_models {

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using vector_map = Eigen::Map<Eigen::VectorXf>;
using const_vector_map = Eigen::Map<const Eigen::VectorXf>;

// Deterministic initial vector for an id: N(0, scale^2) from a hash of the id
// and seed, so replays and checksums do not depend on arrival order.
void init_vector(std::string_view id, std::uint64_t seed, float scale, float* out, int dim);

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
};

class embedding_table {
public:
    explicit embedding_table(int dim) : dim_(dim) {}

    int dim() const { return dim_; }
    std::size_t size() const { return ids_.size(); }

    std::optional<std::uint32_t> find(std::string_view id) const;
    // Adds `id` with `initial` (dim floats) if absent; returns its row.
    std::uint32_t insert(std::string_view id, const float* initial);

    const std::string& id(std::uint32_t row) const { return ids_[row]; }
    vector_map row(std::uint32_t r) { return vector_map(data_.data() + std::size_t(r) * dim_, dim_); }
    const_vector_map row(std::uint32_t r) const {
        return const_vector_map(data_.data() + std::size_t(r) * dim_, dim_);
    }
    // All rows as one size() x dim() matrix (valid until the next insert).
    Eigen::Map<const row_matrix> matrix() const {
        return Eigen::Map<const row_matrix>(data_.data(), Eigen::Index(size()), dim_);
    }
    const std::vector<float>& data() const { return data_; }
    const std::vector<std::string>& ids() const { return ids_; }

private:
    int dim_;
    std::vector<std::string> ids_;
    std::vector<float> data_;
    boost::unordered_flat_map<std::string, std::uint32_t, string_hash, std::equal_to<>> index_;
};

}  // namespace marquee::online_models
