// http_server: an HTTP/1.1 server on Boost.Beast with C++20 coroutines: one
// io_context, N threads, one coroutine per connection (keep-alive and
// pipelining handled in order), hard limits on header and body size, an idle
// timeout and a graceful stop. Oversized or malformed requests get a JSON 4xx
// and the connection is closed (after draining what the client still sends);
// the server keeps serving everyone else.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace marquee::serve {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
// Must be thread-safe and must not throw.
using request_handler = std::function<response(request&&)>;
// The same, for handlers that await work of their own (such as a write)
// before answering; the connection waits, its I/O thread serves others.
using async_request_handler = std::function<boost::asio::awaitable<response>(request)>;
// Told the status of each response the server makes itself, without the
// handler (413, 431, a malformed request's 400, a throwing handler's 500),
// so that it can be counted with the handler's. Called on an I/O thread;
// must be thread-safe and must not throw.
using own_response_observer = std::function<void(unsigned status)>;

struct http_options {
    // Listen address. Default: "127.0.0.1".
    std::string address = "127.0.0.1";
    // Listen port; 0 picks a free one (see port()). Default: 8080.
    std::uint16_t port = 8080;
    // I/O threads. Default: 1 (leaves the second core of a 2-core box to ingest).
    int threads = 1;
    // Largest request body accepted. Default: 1 MiB.
    std::size_t body_limit = 1u << 20;
    // Largest request header block accepted. Default: 8 KiB.
    std::size_t header_limit = 8u << 10;
    // A connection idle (or a request arriving) for longer is closed. Default: 30 s.
    std::chrono::seconds idle_timeout{30};
    // How long stop() lets requests in progress finish. Default: 5 s.
    std::chrono::seconds drain_timeout{5};
};

class http_server {
public:
    http_server(http_options options, request_handler handler, own_response_observer observer = {});
    http_server(http_options options, async_request_handler handler, own_response_observer observer = {});
    ~http_server();  // stops if running

    // Binds and starts the threads; throws std::system_error if the address
    // cannot be bound.
    void start();
    // Stops accepting and closes idle connections; requests in progress are
    // answered (with Connection: close) for up to drain_timeout, then any
    // still open are dropped and the threads joined.
    void stop();
    // The bound port (useful with port 0).
    std::uint16_t port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// A JSON error body: {"error":{"code":..., "message":...}}.
response json_error(boost::beast::http::status status, std::string_view code, std::string_view message,
                    unsigned version = 11);

}  // namespace marquee::serve
