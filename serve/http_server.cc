#include "serve/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "core/json_writer.h"

namespace marquee::serve {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

response json_error(http::status status, std::string_view code, std::string_view message, unsigned version) {
    response res{status, version};
    res.set(http::field::content_type, "application/json");
    std::string body = "{\"error\":{\"code\":";
    core::append_json_string(body, code);
    body += ",\"message\":";
    core::append_json_string(body, message);
    body += "}}";
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

namespace {

response read_error_response(const beast::error_code& ec) {
    if (ec == http::error::body_limit)
        return json_error(http::status::payload_too_large, "payload_too_large", "request body exceeds the limit");
    if (ec == http::error::header_limit)
        return json_error(http::status::request_header_fields_too_large, "headers_too_large",
                          "request headers exceed the limit");
    return json_error(http::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
}

}  // namespace

struct http_server::impl {
    http_options options;
    request_handler handler;
    async_request_handler async_handler;
    own_response_observer observer;
    // Open connections, so stop() can close the idle ones and wait for the
    // rest. `busy` and the stream are touched only on the session's strand.
    // Declared before the io_context: destroying it ends the sessions left,
    // which deregister here.
    struct connection {
        beast::tcp_stream* stream;
        bool busy = false;
    };
    std::mutex connections_mutex;
    std::condition_variable all_closed;
    std::list<std::shared_ptr<connection>> connections;
    std::atomic<bool> draining{false};
    net::io_context ioc;
    // On a strand: stop() closes it while listen() may be re-arming an accept.
    tcp::acceptor acceptor{net::make_strand(ioc)};
    std::vector<std::thread> threads;
    std::uint16_t bound_port = 0;

    impl(http_options o, request_handler h, async_request_handler a, own_response_observer obs)
        : options(std::move(o)),
          handler(std::move(h)),
          async_handler(std::move(a)),
          observer(std::move(obs)),
          ioc(options.threads) {}

    net::awaitable<void> session(beast::tcp_stream stream) {
        auto self = std::make_shared<connection>(connection{&stream});
        std::list<std::shared_ptr<connection>>::iterator entry;
        {
            std::lock_guard lock(connections_mutex);
            entry = connections.insert(connections.end(), self);
        }
        struct deregister {
            impl& i;
            std::list<std::shared_ptr<connection>>::iterator entry;
            ~deregister() {
                std::lock_guard lock(i.connections_mutex);
                i.connections.erase(entry);
                if (i.connections.empty()) i.all_closed.notify_all();
            }
        } registered{*this, entry};
        beast::flat_buffer buffer;
        while (!draining.load(std::memory_order_relaxed)) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(std::uint32_t(options.header_limit));
            parser.body_limit(options.body_limit);
            stream.expires_after(options.idle_timeout);
            auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, net::as_tuple(net::use_awaitable));
            // From its header on, a request is in progress: stop() lets its
            // body arrive and answers it, rather than cutting it off.
            if (!ec) self->busy = true;
            if (!ec && !parser.is_done()) {
                // A client that asks waits for this before it sends the body
                // (a second with curl). One announcing a body over the limit
                // never gets here: the header read already failed with body_limit.
                if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
                    http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
                    std::tie(ec, n) = co_await http::async_write(stream, go_on, net::as_tuple(net::use_awaitable));
                }
                if (!ec) std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
            }
            if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
                ec == net::error::connection_reset || ec == net::error::operation_aborted)
                break;
            if (ec) {
                response res = read_error_response(ec);
                if (observer) observer(res.result_int());
                res.keep_alive(false);
                auto [wec, wn] = co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
                self->busy = false;  // so stop() can cut the linger short
                if (!wec) co_await linger(stream);
                break;
            }
            // The idle deadline is for the client; a handler waiting on Kafka
            // must not spend it, nor the write (which gets one of its own).
            stream.expires_never();
            request req = parser.release();
            const bool keep_alive = req.keep_alive();
            const bool head = req.method() == http::verb::head;
            response res;
            try {
                // An if, not ?: with co_await in one arm: GCC 12 ran the wrong arm.
                if (handler)
                    res = handler(std::move(req));
                else
                    res = co_await async_handler(std::move(req));
            } catch (const std::exception& e) {  // a bug, not a client error
                spdlog::error("http: handler threw: {}", e.what());
                res = json_error(http::status::internal_server_error, "internal", "internal error");
                if (observer) observer(res.result_int());
            }
            res.keep_alive(keep_alive && !draining.load(std::memory_order_relaxed));
            if (head) {
                // The headers GET would send, Content-Length included, and no body.
                res.content_length(res.body().size());
                res.body().clear();
            } else {
                res.prepare_payload();
            }
            stream.expires_after(options.idle_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
            // Closing on unread bytes (a request pipelined behind this one,
            // as when a drain answers "close") resets the connection, and the
            // client loses what of the response it has not read yet. So wait,
            // briefly and still busy (stop() waits too), for the client to
            // read it and close.
            if (!wec && !res.keep_alive()) co_await linger(stream, closing_linger_time, true);
            self->busy = false;
            if (wec || !res.keep_alive()) break;
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    // A refused request's client may still be sending its body. Closing on
    // unread bytes makes the kernel reset the connection, and a client that
    // sends the whole body before reading (Python's http.client, for one)
    // then fails with a broken pipe and never reads our 4xx. So, as nginx's
    // lingering close does, stop sending and drop what arrives until the
    // client closes, for at most linger_time and linger_bytes; stop() cuts
    // it short like any idle read.
    static constexpr auto linger_time = std::chrono::seconds(5);
    static constexpr auto closing_linger_time = std::chrono::seconds(1);
    static constexpr std::size_t linger_bytes = 16u << 20;

    net::awaitable<void> linger(beast::tcp_stream& stream, std::chrono::seconds how_long = linger_time,
                                bool even_when_draining = false) {
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec || (!even_when_draining && draining.load(std::memory_order_relaxed))) co_return;
        stream.expires_after(how_long);
        std::array<char, 16384> sink;
        for (std::size_t dropped = 0; dropped < linger_bytes;) {
            auto [rec, n] = co_await stream.async_read_some(net::buffer(sink), net::as_tuple(net::use_awaitable));
            if (rec) break;
            dropped += n;
        }
    }

    // Out of descriptors (or kernel memory), the connection stays queued and
    // the next accept fails at once: without a pause the loop would spin a
    // core and write a warning per turn. Other failures (a client that reset
    // before it was accepted) concern one connection and are retried at once.
    clock::time_point next_accept_warning{};
    std::uint64_t accept_failures = 0;

    net::awaitable<void> accept_failed(const beast::error_code& ec) {
        ++accept_failures;
        if (const auto now = clock::now(); now >= next_accept_warning) {
            spdlog::warn("http: accept failed: {} ({} failure(s) since the last warning)", ec.message(),
                         accept_failures);
            accept_failures = 0;
            next_accept_warning = now + std::chrono::seconds(5);
        }
        namespace errc = boost::system::errc;
        if (ec == errc::too_many_files_open || ec == errc::too_many_files_open_in_system ||
            ec == errc::no_buffer_space || ec == errc::not_enough_memory) {
            net::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        }
    }

    net::awaitable<void> listen() {
        for (;;) {
            auto [ec, socket] =
                co_await acceptor.async_accept(net::make_strand(ioc), net::as_tuple(net::use_awaitable));
            if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
            if (ec) {
                co_await accept_failed(ec);
                continue;
            }
            // Responses are written whole; Nagle would only hold one back
            // behind the client's delayed ACK (up to 40 ms on Linux).
            beast::error_code nodelay_ec;
            socket.set_option(tcp::no_delay(true), nodelay_ec);
            auto executor = socket.get_executor();
            net::co_spawn(executor, session(beast::tcp_stream(std::move(socket))), [](std::exception_ptr e) {
                if (!e) return;
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    spdlog::error("http: session ended by exception: {}", ex.what());
                }
            });
        }
    }
};

http_server::http_server(http_options options, request_handler handler, own_response_observer observer)
    : impl_(std::make_unique<impl>(std::move(options), std::move(handler), nullptr, std::move(observer))) {}

http_server::http_server(http_options options, async_request_handler handler, own_response_observer observer)
    : impl_(std::make_unique<impl>(std::move(options), nullptr, std::move(handler), std::move(observer))) {}

http_server::~http_server() { stop(); }

void http_server::start() {
    auto& i = *impl_;
    try {
        tcp::endpoint endpoint{net::ip::make_address(i.options.address), i.options.port};
        i.acceptor.open(endpoint.protocol());
        i.acceptor.set_option(net::socket_base::reuse_address(true));
        i.acceptor.bind(endpoint);
        i.acceptor.listen(net::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
        // Boost's own text names neither the address nor the port.
        throw std::system_error(e.code(), "http: cannot listen on " + i.options.address + " port " +
                                              std::to_string(i.options.port) + " (http.address, http.port)");
    }
    i.bound_port = i.acceptor.local_endpoint().port();
    net::co_spawn(i.acceptor.get_executor(), i.listen(), net::detached);
    for (int t = 0; t < std::max(1, i.options.threads); ++t) i.threads.emplace_back([&i] { i.ioc.run(); });
}

void http_server::stop() {
    auto& i = *impl_;
    if (i.threads.empty()) return;
    // Waited for: with no connection open, ioc.stop() below would otherwise
    // come first, and the listening socket would go on queueing connections
    // that nobody accepts until the server is destroyed.
    std::promise<void> closed;
    net::post(i.acceptor.get_executor(), [&i, &closed] {
        beast::error_code ignored;
        i.acceptor.close(ignored);
        closed.set_value();
    });
    closed.get_future().wait();
    i.draining = true;
    {
        std::unique_lock lock(i.connections_mutex);
        // A connection waiting for a request ends now; one in a request ends
        // once it is answered (it sees `draining`).
        for (const auto& c : i.connections)
            net::post(c->stream->get_executor(), [weak = std::weak_ptr<impl::connection>(c)] {
                // On the session's strand: it is suspended in a read or in a
                // request, or has ended (and let go of its connection).
                if (auto c = weak.lock(); c && !c->busy) c->stream->cancel();
            });
        if (!i.all_closed.wait_for(lock, i.options.drain_timeout, [&i] { return i.connections.empty(); }))
            spdlog::warn("http: stopping with {} request(s) still in progress after {} s", i.connections.size(),
                         i.options.drain_timeout.count());
    }
    i.ioc.stop();
    for (auto& t : i.threads) t.join();
    i.threads.clear();
}

std::uint16_t http_server::port() const { return impl_->bound_port; }

}  // namespace marquee::serve
