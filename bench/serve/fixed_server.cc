// serve_fixed: the HTTP stack's ceiling for the serving benchmark. The same
// serve::http_server (Beast, coroutines, one io_context) that `marquee run`
// uses, with a handler that does no work: every request gets the same small
// JSON body. Runs until SIGINT/SIGTERM.
//   serve_fixed [--address 127.0.0.1] [--port 0] [--threads 1]
//               [--work-us 0] [--body-bytes 0]
// --work-us spins the handler that long per request and --body-bytes pads
// the body to that size: run.sh's budget table, the throughput the same
// stack leaves a handler that does that much work and answers that much.
// Prints "port N" on stdout once it accepts connections.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "bench/serve/fixed_handler.h"
#include "serve/http_server.h"

namespace {
std::atomic<bool> signalled{false};
void on_signal(int) { signalled = true; }
}  // namespace

int main(int argc, char** argv) try {
    using namespace marquee;
    serve::http_options options;
    options.port = 0;
    long work_us = 0, body_bytes = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--port")) options.port = std::uint16_t(std::stoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--threads")) options.threads = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--address")) options.address = argv[i + 1];
        else if (!std::strcmp(argv[i], "--work-us")) work_us = std::stol(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--body-bytes")) body_bytes = std::stol(argv[i + 1]);
        else throw std::invalid_argument(std::string("unknown option ") + argv[i]);
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    if (work_us < 0 || body_bytes < 0) throw std::invalid_argument("--work-us and --body-bytes must be >= 0");
    // {"pad":"xx..."}, body_bytes long, when padding is asked for.
    const std::string padded = body_bytes == 0 ? std::string()
                               : "{\"pad\":\"" + std::string(std::size_t(std::max(body_bytes - 10, 0L)), 'x') + "\"}";
    const auto work = std::chrono::microseconds(work_us);
    serve::http_server server(options, [&](serve::request&& req) {
        // Busy, not asleep: the point is CPU the handler takes from the stack.
        for (const auto start = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() - start < work;) {
        }
        auto res = bench::fixed_response(req);
        if (!padded.empty()) res.body() = padded;
        return res;
    });
    server.start();
    std::printf("port %u\n", unsigned(server.port()));
    std::fflush(stdout);
    while (!signalled) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server.stop();
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "serve_fixed: %s\n", e.what());
    return 2;
}
