#include "online_models/covisitation.h"

#include <algorithm>

namespace marquee::online_models {

void covisitation::add_pair(std::uint32_t a, std::uint32_t b, float w) {
    if (a == b || !(w > 0.0f)) return;
    add_one(a, b, w);
    add_one(b, a, w);
}

void covisitation::add_one(std::uint32_t from, std::uint32_t to, float w) {
    if (from >= lists_.size()) lists_.resize(std::size_t(from) + 1);
    auto& list = lists_[from];
    // Capacity is small (tens), so a linear scan beats any index here.
    auto it = std::find_if(list.begin(), list.end(), [to](const neighbour& n) { return n.row == to; });
    if (it != list.end()) {
        it->count += w;
    } else if (list.size() < std::size_t(std::max(options_.capacity, 1))) {
        list.push_back({to, w, 0.0f});
        it = list.end() - 1;
    } else {
        // Space-Saving: the smallest counter is recycled; its count becomes
        // the newcomer's error bound.
        neighbour& victim = list.back();
        victim = {to, victim.count + w, victim.count};
        it = list.end() - 1;
    }
    // Restore descending order by moving the grown entry forward; strict >
    // keeps earlier entries first among equals (deterministic ties).
    while (it != list.begin() && std::prev(it)->count < it->count) {
        std::iter_swap(it, std::prev(it));
        --it;
    }
    // A float count stops growing by small weights once it is large (+0.1 is
    // lost above ~2M), which would freeze the heaviest lists for good. So a
    // list whose top passes rescale_at is halved whole: exact for floats, the
    // order and each count's share of the top (all that scoring reads) stay,
    // and older co-visits weigh half against newer ones from then on.
    if (list.front().count >= rescale_at)
        for (auto& n : list) {
            n.count *= 0.5f;
            n.error *= 0.5f;
        }
}

void covisitation::restore(std::uint32_t row, std::vector<neighbour> list) {
    if (row >= lists_.size()) lists_.resize(std::size_t(row) + 1);
    std::stable_sort(list.begin(), list.end(), [](const neighbour& a, const neighbour& b) { return a.count > b.count; });
    if (list.size() > std::size_t(std::max(options_.capacity, 1))) list.resize(std::size_t(std::max(options_.capacity, 1)));
    lists_[row] = std::move(list);
}

std::size_t covisitation::entries() const {
    std::size_t n = 0;
    for (const auto& l : lists_) n += l.size();
    return n;
}

}  // namespace marquee::online_models
