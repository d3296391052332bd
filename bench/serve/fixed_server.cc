// serve_fixed: the HTTP stack's ceiling for the serving benchmark. The same
// serve::http_server (Beast, coroutines, one io_context) that `marquee run`
// uses, with a handler that does no work: every request gets the same small
// JSON body. Runs until SIGINT/SIGTERM.
//   serve_fixed [--address 127.0.0.1] [--port 0] [--threads 1]
// Prints "port N" on stdout once it accepts connections.
#include <spdlog/spdlog.h>

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
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--port")) options.port = std::uint16_t(std::stoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--threads")) options.threads = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--address")) options.address = argv[i + 1];
        else throw std::invalid_argument(std::string("unknown option ") + argv[i]);
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    serve::http_server server(options, [](serve::request&& req) { return bench::fixed_response(req); });
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
