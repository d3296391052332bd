// Test helpers shared by every suite: temporary directories, polling with a
// deadline, captured logs, failing writes, and a real HTTP/1.1 client over a
// loopback socket.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace marquee::testing {

// While alive, spdlog's default logger writes to a string instead, for
// tests of what is logged; the previous one is back however the scope ends.
class captured_log {
public:
    captured_log();
    ~captured_log();
    captured_log(const captured_log&) = delete;
    captured_log& operator=(const captured_log&) = delete;
    spdlog::logger& logger() { return *logger_; }  // to set a level or pattern
    std::string text() const { return out_.str(); }

private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> logger_, previous_;
};

// A fresh directory under the system temp dir, removed on destruction.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    const std::filesystem::path& path() const { return path_; }
    std::string str() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

// While alive, every write that would grow a regular file fails with EFBIG
// (RLIMIT_FSIZE of 1 byte, SIGXFSZ ignored): a real RocksDB write error,
// for the paths that must survive one. Process-wide, so keep the scope
// short: output redirected to a file (not a pipe, as under ctest) is lost
// meanwhile, gtest's failure messages included.
class failing_file_writes {
public:
    failing_file_writes();
    ~failing_file_writes();
    failing_file_writes(const failing_file_writes&) = delete;
    failing_file_writes& operator=(const failing_file_writes&) = delete;

private:
    unsigned long long soft_limit_;
    void (*old_handler_)(int);
};

// Polls `condition` every 10 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

struct http_reply {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;
};

// One request on a new connection to 127.0.0.1:port.
http_reply http_get(unsigned short port, const std::string& target);
http_reply http_request(unsigned short port, const std::string& method, const std::string& target,
                        const std::string& body = "", const std::map<std::string, std::string>& headers = {});
// The string values of `key` ("item_id" by default; "id" in a rank reply) in
// a JSON reply, in order.
std::vector<std::string> item_ids(const std::string& body, const std::string& key = "item_id");
// The string value of "field" in a flat JSON text (first occurrence; empty
// if absent).
std::string json_field(const std::string& body, const std::string& field);
// A keep-alive HTTP/1.1 connection to 127.0.0.1:port: every request() goes
// over the same socket (the server must keep it open).
class http_connection {
public:
    explicit http_connection(unsigned short port);
    ~http_connection();
    http_reply request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});
    // Requests so far on this socket.
    int requests() const { return requests_; }

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    int requests_ = 0;
};

// Sends raw bytes and returns everything read until the peer closes or
// `timeout` passes (for malformed/pipelined requests).
std::string raw_exchange(unsigned short port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace marquee::testing
