// The online bandit loop over HTTP: POST /v1/rank (20 candidates with genre
// features) + POST /v1/rewards round trips per second from one keep-alive
// client over loopback against a real server (Beast, RocksDB on disk), and
// the in-process cost of the same decision + reward (rank_service called
// directly), in one process and one run so the ratio holds on a noisy box.
//   rank_bench [--rounds N] [--bits B] [--quick]
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "core/rng.h"
#include "serve/api.h"
#include "serve/http_server.h"
#include "serve/rank_service.h"

using namespace marquee;
using clock_type = std::chrono::steady_clock;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

const char* genres[] = {"horror", "comedy", "drama", "documentary", "romance"};

struct round_input {
    bool night = false;
    serve::rank_request request;
    std::string body;
};

// 20 candidates, 4 per genre; the reward is 1 iff (night, horror) or (day, comedy).
round_input make_round(core::splitmix64& rng, int round) {
    round_input in;
    in.night = rng.below(2) == 0;
    in.request.context = {{"daypart", std::string(in.night ? "night" : "day")}};
    in.request.k = 1;
    in.body = std::string(R"({"context":{"daypart":")") + (in.night ? "night" : "day") + R"("},"k":1,"candidates":[)";
    for (int i = 0; i < 20; ++i) {
        const std::string id = "c" + std::to_string(round * 20 + i);
        const double length = 0.5 + rng.uniform();
        in.request.candidates.push_back(
            {id, {{"genre", std::vector<std::string>{genres[i / 4]}}, {"length", length}}});
        char feature[96];
        std::snprintf(feature, sizeof feature, R"(%s{"id":"%s","features":{"genre":["%s"],"length":%.6g}})",
                      i ? "," : "", id.c_str(), genres[i / 4], length);
        in.body += feature;
    }
    in.body += "]}";
    return in;
}

bool pays(const round_input& in, const std::string& id) {
    const int i = std::stoi(id.substr(1)) % 20;
    return (in.night && i / 4 == 0) || (!in.night && i / 4 == 1);
}

std::string field(const std::string& body, const std::string& name) {
    auto at = body.find("\"" + name + "\":\"");
    if (at == std::string::npos) return {};
    at += name.size() + 4;
    return body.substr(at, body.find('"', at) - at);
}

struct client {
    net::io_context ioc;
    beast::tcp_stream stream{ioc};
    beast::flat_buffer buffer;
    explicit client(unsigned short port) {
        stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        stream.socket().set_option(net::ip::tcp::no_delay(true));
    }
    std::string post(const char* target, std::string body) {
        http::request<http::string_body> req{http::verb::post, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::content_type, "application/json");
        req.keep_alive(true);
        req.body() = std::move(body);
        req.prepare_payload();
        http::write(stream, req);
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        if (res.result_int() >= 300) {
            std::fprintf(stderr, "%s -> %d %s\n", target, res.result_int(), res.body().c_str());
            std::exit(1);
        }
        return std::move(res.body());
    }
};

struct result {
    double seconds = 0;
    int paid_last = 0;  // rewards earned in the last 20% of rounds
};

}  // namespace

int main(int argc, char** argv) {
    int rounds = 3000, bits = 8;
    for (int a = 1; a < argc; ++a) {
        if (!std::strcmp(argv[a], "--rounds") && a + 1 < argc) rounds = std::atoi(argv[++a]);
        else if (!std::strcmp(argv[a], "--bits") && a + 1 < argc) bits = std::atoi(argv[++a]);
        else if (!std::strcmp(argv[a], "--quick")) rounds = 200;
        else {
            std::fprintf(stderr, "usage: rank_bench [--rounds N] [--bits B] [--quick]\n");
            return 2;
        }
    }
    spdlog::set_level(spdlog::level::warn);
    const auto base = std::filesystem::temp_directory_path() / ("marquee-rank-bench-" + std::to_string(::getpid()));
    serve::rank_options options;
    options.model.bits = bits;
    const int tail_from = rounds - rounds / 5;
    std::filesystem::create_directories(base);
    auto open = [&](const char* name) {
        auto s = state::store::open({.path = (base / name).string()});
        if (!s) {
            std::fprintf(stderr, "opening the store: %s\n", s.error().message.c_str());
            std::exit(1);
        }
        return std::move(s).value();
    };

    // 1. Over HTTP: one keep-alive client, one server I/O thread.
    result over_http;
    {
        auto store = open("http");
        core::snapshot_cell<engine::model_snapshot> snapshots;
        prometheus::Registry registry;
        serve::rank_service ranker(options, *store, &snapshots, nullptr, registry);
        serve::api api(serve::api_options{}, snapshots, *store, serve::api_links{nullptr, nullptr, &ranker}, registry,
                       [] { return true; });
        serve::http_server server(serve::http_options{.port = 0, .threads = 1},
                                  [&](serve::request&& r) { return api.handle(std::move(r)); });
        server.start();
        client c(server.port());
        core::splitmix64 rng(1);
        std::vector<round_input> inputs;
        for (int r = 0; r < rounds; ++r) inputs.push_back(make_round(rng, r));
        const auto t0 = clock_type::now();
        for (int r = 0; r < rounds; ++r) {
            auto ranked = c.post("/v1/rank", inputs[r].body);
            const std::string id = field(ranked, "decision_id"), chosen = field(ranked, "id");
            const bool paid = pays(inputs[r], chosen);
            if (r >= tail_from) over_http.paid_last += paid;
            c.post("/v1/rewards", R"({"decision_id":")" + id + R"(","item_id":")" + chosen + R"(","reward":)" +
                                      (paid ? "1" : "0") + "}");
        }
        over_http.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    }
    // 2. In process: the same decisions and rewards, rank_service called directly.
    result in_process;
    {
        auto store = open("direct");
        prometheus::Registry registry;
        serve::rank_service ranker(options, *store, nullptr, nullptr, registry);
        core::splitmix64 rng(1);
        std::vector<round_input> inputs;
        for (int r = 0; r < rounds; ++r) inputs.push_back(make_round(rng, r));
        const auto t0 = clock_type::now();
        for (int r = 0; r < rounds; ++r) {
            auto ranked = ranker.rank(inputs[r].request, 0).value();
            const bool paid = pays(inputs[r], ranked.items[0].id);
            if (r >= tail_from) in_process.paid_last += paid;
            (void)ranker.reward(ranked.decision_id, ranked.items[0].id, paid ? 1.0 : 0.0, 0).value();
        }
        in_process.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    }
    std::filesystem::remove_all(base);

    const int dim = (1 << bits) + bandits::known_dim, tail = rounds - tail_from;
    std::printf("bandit loop: %d rounds of rank (20 candidates, k = 1) + reward, model dim %d (bits %d)\n", rounds,
                dim, bits);
    std::printf("  over HTTP (1 keep-alive client, loopback): %8.0f rounds/s  %7.1f us/round  reward rate (last %d) %.2f\n",
                rounds / over_http.seconds, 1e6 * over_http.seconds / rounds, tail,
                double(over_http.paid_last) / tail);
    std::printf("  in process (rank_service directly):        %8.0f rounds/s  %7.1f us/round  reward rate (last %d) %.2f\n",
                rounds / in_process.seconds, 1e6 * in_process.seconds / rounds, tail,
                double(in_process.paid_last) / tail);
    std::printf("  HTTP / in-process time per round: %.2f   (uniform random's reward rate: %.2f)\n",
                over_http.seconds / in_process.seconds, 4.0 / 20.0);
    return 0;
}
