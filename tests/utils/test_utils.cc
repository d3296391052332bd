#include "utils/test_utils.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <csignal>
#include <random>
#include <system_error>
#include <thread>

namespace marquee::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

captured_log::captured_log()
    : logger_(std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_))),
      previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(logger_);
}

captured_log::~captured_log() { spdlog::set_default_logger(previous_); }

failing_file_writes::failing_file_writes() {
    rlimit limit{};
    getrlimit(RLIMIT_FSIZE, &limit);
    soft_limit_ = limit.rlim_cur;
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    limit.rlim_cur = 1;
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) throw std::system_error(errno, std::generic_category(), "setrlimit");
}

failing_file_writes::~failing_file_writes() {
    rlimit limit{};
    getrlimit(RLIMIT_FSIZE, &limit);
    limit.rlim_cur = rlim_t(soft_limit_);
    setrlimit(RLIMIT_FSIZE, &limit);
    std::signal(SIGXFSZ, old_handler_);
}

temp_dir::temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("marquee-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

namespace {

// Synchronous reads ignore tcp_stream's expiry: without this a server that
// never answers would hang the test instead of failing it.
void connect_with_receive_timeout(beast::tcp_stream& stream, unsigned short port, std::chrono::milliseconds timeout) {
    stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    timeval tv{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
    ::setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

}  // namespace

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return condition();
}

http_reply http_request(unsigned short port, const std::string& method, const std::string& target,
                        const std::string& body, const std::map<std::string, std::string>& headers) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    connect_with_receive_timeout(stream, port, std::chrono::seconds(60));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) {
        req.body() = body;
        req.set(http::field::content_type, "application/json");
    }
    for (const auto& [k, v] : headers) req.set(k, v);  // may override the content type
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.skip(req.method() == http::verb::head);  // its Content-Length announces a body it does not send
    http::read(stream, buffer, parser);
    auto res = parser.release();
    http_reply out;
    out.status = res.result_int();
    out.body = res.body();
    for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
    beast::error_code ec;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
    return out;
}

struct http_connection::impl {
    net::io_context ioc;
    beast::tcp_stream stream{ioc};
    beast::flat_buffer buffer;
};

http_connection::http_connection(unsigned short port) : impl_(std::make_unique<impl>()) {
    connect_with_receive_timeout(impl_->stream, port, std::chrono::seconds(60));
}

http_connection::~http_connection() {
    beast::error_code ec;
    impl_->stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
}

http_reply http_connection::request(const std::string& method, const std::string& target, const std::string& body,
                                    const std::map<std::string, std::string>& headers) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(true);
    if (!body.empty()) {
        req.body() = body;
        req.set(http::field::content_type, "application/json");
    }
    for (const auto& [k, v] : headers) req.set(k, v);
    req.prepare_payload();
    http::write(impl_->stream, req);
    http::response<http::string_body> res;
    http::read(impl_->stream, impl_->buffer, res);
    ++requests_;
    http_reply out;
    out.status = res.result_int();
    out.body = res.body();
    for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
    return out;
}

http_reply http_get(unsigned short port, const std::string& target) { return http_request(port, "GET", target); }

std::vector<std::string> item_ids(const std::string& body, const std::string& field) {
    std::vector<std::string> out;
    const std::string key = "\"" + field + "\":\"";
    for (auto at = body.find(key); at != std::string::npos; at = body.find(key, at)) {
        at += key.size();
        out.push_back(body.substr(at, body.find('"', at) - at));
    }
    return out;
}

std::string json_field(const std::string& body, const std::string& field) {
    const std::string key = "\"" + field + "\":\"";
    auto at = body.find(key);
    if (at == std::string::npos) return {};
    at += key.size();
    return body.substr(at, body.find('"', at) - at);
}

std::string raw_exchange(unsigned short port, const std::string& bytes, std::chrono::milliseconds timeout) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    connect_with_receive_timeout(stream, port, timeout);
    beast::error_code ec;
    net::write(stream.socket(), net::buffer(bytes), ec);
    std::string out;
    char buf[4096];
    for (;;) {
        std::size_t n = stream.read_some(net::buffer(buf), ec);
        out.append(buf, n);
        if (ec) break;
    }
    return out;
}

}  // namespace marquee::testing
