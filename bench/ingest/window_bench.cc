// window_bench: what matching a click without a decision id costs ingest
// (batch_applier's reward window) on a real RocksDB store. The baseline reads
// every pending decision of the user (store::user_decisions without an item,
// as ingest did before the index listed items); the other reads only the
// decisions whose index entry lists the clicked item. Both run alternately in
// one process, and every lookup's answers are compared.
//   window_bench [--users 200] [--decisions 60] [--lookups 20000]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "state/store.h"

using namespace marquee;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr int items_per_decision = 10;
constexpr std::int64_t window_ms = 600'000;

std::string user_id(int u) { return "u" + std::to_string(u); }

// One pending decision per minute for each user, 10 random items each.
void fill(state::store& s, int users, int decisions, std::mt19937_64& rng) {
    std::uniform_int_distribution<int> item(1, 9742);
    for (int u = 0; u < users; ++u) {
        auto w = s.begin();
        for (int k = 0; k < decisions; ++k) {
            engine::pending_decision d;
            d.user_id = user_id(u);
            d.served_ms = std::int64_t(k) * window_ms / decisions;
            for (int i = 0; i < items_per_decision; ++i)
                d.items.push_back({"m" + std::to_string(item(rng)), bandits::feature_vector::Zero(), 0.1, false});
            w.put_decision(user_id(u) + "-" + std::to_string(k), d);
        }
        if (auto r = s.commit(w); !r) throw std::runtime_error(r.error().message);
    }
}

struct lookup {
    std::string user, item;
};

// The decision batch_applier credits: the oldest pending one that showed the
// item; "" if none.
std::string credited(const state::store& s, const lookup& l, bool listed_only) {
    auto found = s.user_decisions(l.user, 0, window_ms, listed_only ? std::string_view(l.item) : std::string_view());
    if (!found) throw std::runtime_error(found.error().message);
    for (const auto& [id, d] : found.value())
        for (const auto& shown : d.items)
            if (shown.item_id == l.item && !shown.rewarded) return id;
    return "";
}

}  // namespace

int main(int argc, char** argv) try {
    int users = 200, decisions = 60, lookups = 20000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--users")) users = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--decisions")) decisions = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--lookups")) lookups = std::stoi(argv[i + 1]);
        else throw std::invalid_argument(std::string("unknown option ") + argv[i]);
    }
    const auto dir =
        std::filesystem::temp_directory_path() / ("marquee-window-bench-" + std::to_string(std::random_device{}()));
    int status = 0;
    {
        auto opened = state::store::open({.path = dir.string()});
        if (!opened) throw std::runtime_error(opened.error().message);
        auto& s = *opened.value();
        std::mt19937_64 rng(7);
        fill(s, users, decisions, rng);

        std::uniform_int_distribution<int> user(0, users - 1);
        std::vector<lookup> shown, unshown;
        for (int i = 0; i < lookups; ++i) {
            const int u = user(rng);
            auto latest = s.get_decision(user_id(u) + "-" + std::to_string(decisions - 1));
            if (!latest || !latest.value()) throw std::runtime_error("decision not found");
            shown.push_back({user_id(u), latest.value()->items[std::size_t(i % items_per_decision)].item_id});
            unshown.push_back({user_id(u), "m0"});  // no decision showed m0
        }
        std::printf("%d users x %d pending decisions (%d items each), %d lookups per row\n", users, decisions,
                    items_per_decision, lookups);
        for (const auto* set : {&unshown, &shown}) {
            double spent[2] = {0, 0};
            std::size_t mismatches = 0, credited_n = 0;
            // Alternating blocks, so both ways see the same machine.
            constexpr int block = 500;
            for (int from = 0; from < lookups; from += block) {
                const int to = std::min(lookups, from + block);
                std::vector<std::string> answers[2];
                for (int way : {0, 1}) {
                    const auto t0 = clock_type::now();
                    for (int i = from; i < to; ++i) answers[way].push_back(credited(s, (*set)[std::size_t(i)], way == 1));
                    spent[way] += std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
                }
                for (std::size_t i = 0; i < answers[0].size(); ++i) {
                    mismatches += answers[0][i] != answers[1][i];
                    credited_n += !answers[1][i].empty();
                }
            }
            std::printf("click on %s: every decision read %.2f us, listed ones only %.2f us per lookup (%.1fx), "
                        "credited %zu/%d, answers differing %zu\n",
                        set == &unshown ? "an item no decision showed" : "an item the latest decision showed",
                        spent[0] / lookups, spent[1] / lookups, spent[0] / spent[1], credited_n, lookups, mismatches);
            if (mismatches) status = 1;
        }
    }
    std::filesystem::remove_all(dir);
    return status;
} catch (const std::exception& e) {
    std::fprintf(stderr, "window_bench: %s\n", e.what());
    return 1;
}
