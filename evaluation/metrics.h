// ranking_metrics: HR@k and NDCG@k accumulated over leave-one-in test cases,
// where each case has exactly one relevant item (the one the user went on to
// consume), so IDCG = 1 and NDCG = 1 / log2(rank + 2) for a hit at 0-based
// `rank`. Pure value type; not thread-safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

namespace marquee::evaluation {

struct ranking_metrics {
    std::uint64_t cases = 0;
    std::uint64_t hits = 0;
    double dcg = 0.0;

    // `rank`: 0-based position of the relevant item in the top-k list, or -1.
    void add(int rank) {
        ++cases;
        if (rank < 0) return;
        ++hits;
        dcg += 1.0 / std::log2(double(rank) + 2.0);
    }
    void merge(const ranking_metrics& o) {
        cases += o.cases;
        hits += o.hits;
        dcg += o.dcg;
    }
    double hit_rate() const { return cases ? double(hits) / double(cases) : 0.0; }
    double ndcg() const { return cases ? dcg / double(cases) : 0.0; }
};

// Position of `item` among the first `k` entries of `list`, or -1.
template <class Row>
int rank_of(std::span<const Row> list, Row item, std::size_t k) {
    const std::size_t n = list.size() < k ? list.size() : k;
    for (std::size_t i = 0; i < n; ++i)
        if (list[i] == item) return int(i);
    return -1;
}

}  // namespace marquee::evaluation
