// serve_bench: the serving benchmark's clients (README "Serving benchmark";
// bench/serve/run.sh drives them against `marquee run` and serve_fixed).
//
//   serve_bench openloop --port P --rate R [--seconds 10] [--warmup 1] [--connections 16]
//                        [--path /v1/users/{user}/recommendations?k=10] [--users 610]
//       Open-loop latency at a fixed request rate. Request i is *due* at
//       start + i/R whatever happened to earlier ones; it is written on
//       connection i mod C (pipelined behind any still unanswered), and its
//       latency is measured from when it was due, not from when it was sent,
//       so queueing in the server (or in this client) is never hidden
//       (no coordinated omission). {user} rotates over u1..uN.
//   serve_bench fresh --brokers B --port P [--trials 300] [--users 610] [--topic marquee.events]
//                     [--timeout 2] [--warmup-trials 3] [--verbose 1 (each trial to stderr)]
//       Produce->visible: for a user, read the list (twice: it must be stable,
//       so run the engine with bandit.epsilon=0), produce a `like` for the
//       list's first item, then poll the user's recommendations until the
//       item ids differ and the liked item is gone from them (it is in the
//       user's history then). Prints p50/p90/p99/max of produce->changed.
//   serve_bench replay --brokers B [--movielens DIR] [--repeat 1] [--topic marquee.events]
//       Produces the MovieLens ratings (keyed by user) as fast as the
//       producer takes them, `repeat` times; prints the produce rate.
//   serve_bench smoke
//       CI's few-second check that all of the above run and print sane
//       figures (the fixed handler in-process, an engine on the embedded
//       broker warmed with 20k ratings); never judges speed.
//
// Every subcommand prints one line of key=value pairs for run.sh to parse.
#include <librdkafka/rdkafkacpp.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app/engine_host.h"
#include "bench/percentile.h"
#include "bench/serve/fixed_handler.h"
#include "core/wall_clock.h"
#include "events/event.h"
#include "events/movielens.h"
#include "serve/http_server.h"

using namespace marquee;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct args {
    std::map<std::string, std::string> kv;
    args(int argc, char** argv, int first) {
        for (int i = first; i < argc; ++i) {
            std::string k = argv[i];
            if (k.rfind("--", 0) != 0 || i + 1 >= argc) throw std::invalid_argument("expected --key value, got " + k);
            kv[k.substr(2)] = argv[++i];
        }
    }
    std::string str(const std::string& k, const std::string& def) const {
        auto it = kv.find(k);
        return it == kv.end() ? def : it->second;
    }
    double num(const std::string& k, double def) const {
        auto it = kv.find(k);
        return it == kv.end() ? def : std::stod(it->second);
    }
};

std::string user_path(const std::string& tmpl, int user) {
    std::string path = tmpl;
    if (auto at = path.find("{user}"); at != std::string::npos) path.replace(at, 6, "u" + std::to_string(user));
    return path;
}

// ---------------------------------------------------------------- openloop

struct openloop_options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;
    double rate = 1000;
    double seconds = 10, warmup = 1;
    int connections = 16;
    std::string path = "/v1/users/{user}/recommendations?k=10";
    int users = 610;
};

struct openloop_result {
    double target_rate = 0, achieved_rate = 0;
    std::size_t due = 0, ok = 0, errors = 0, unanswered = 0;
    double p50 = NAN, p90 = NAN, p99 = NAN, p999 = NAN, max = NAN;  // milliseconds
};

class openloop_client {
public:
    explicit openloop_client(openloop_options o) : o_(std::move(o)), timer_(ioc_) {}

    openloop_result run() {
        tcp::resolver resolver(ioc_);
        auto endpoints = resolver.resolve(o_.address, std::to_string(o_.port));
        for (int c = 0; c < o_.connections; ++c) {
            auto conn = std::make_unique<connection>(ioc_);
            net::connect(conn->socket, endpoints);
            conn->socket.set_option(tcp::no_delay(true));
            conns_.push_back(std::move(conn));
        }
        for (auto& c : conns_) read_next(*c);
        start_ = clock_type::now();
        end_ = start_ + std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(o_.warmup + o_.seconds));
        warm_ = start_ + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o_.warmup));
        tick();
        // After the last due request, wait at most 5 s for the stragglers.
        // (run() and a timer, not run_until(): asio's run_until polls one
        // handler per reactor wait, which delays completions.)
        net::steady_timer deadline(ioc_);
        deadline.expires_at(end_ + std::chrono::seconds(5));
        deadline.async_wait([this](beast::error_code) { ioc_.stop(); });
        done_ = [this, &deadline] { deadline.cancel(); ioc_.stop(); };
        ioc_.run();
        openloop_result r;
        r.target_rate = o_.rate;
        r.due = counted_due_;
        r.ok = latencies_.size();
        r.errors = errors_;
        // Reported on their own: they would otherwise vanish from the
        // percentiles exactly when the server falls behind.
        r.unanswered = counted_due_ - latencies_.size() - errors_;
        std::sort(latencies_.begin(), latencies_.end());
        r.achieved_rate = double(r.ok) / o_.seconds;
        r.p50 = bench::percentile(latencies_, 50);
        r.p90 = bench::percentile(latencies_, 90);
        r.p99 = bench::percentile(latencies_, 99);
        r.p999 = bench::percentile(latencies_, 99.9);
        r.max = latencies_.empty() ? NAN : latencies_.back();
        return r;
    }

private:
    struct pending {
        clock_type::time_point due;
        bool counted;
    };
    struct connection {
        explicit connection(net::io_context& ioc) : socket(ioc) {}
        tcp::socket socket;
        beast::flat_buffer buffer;
        std::optional<http::response_parser<http::string_body>> parser;
        std::deque<pending> inflight;
        std::string out, writing;
        bool write_busy = false;
    };

    clock_type::time_point due_at(std::uint64_t i) const {
        return start_ + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(double(i) / o_.rate));
    }

    void tick() {
        const auto now = clock_type::now();
        while (due_at(issued_) <= now && due_at(issued_) < end_) {
            const auto due = due_at(issued_);
            auto& c = *conns_[issued_ % conns_.size()];
            const bool counted = due >= warm_;
            if (counted) ++counted_due_;
            c.inflight.push_back({due, counted});
            c.out += "GET " + user_path(o_.path, int(issued_ % std::uint64_t(o_.users)) + 1) +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            flush(c);
            ++issued_;
        }
        if (due_at(issued_) >= end_) {
            finished_issuing_ = true;
            maybe_done();
            return;
        }
        timer_.expires_at(due_at(issued_));
        timer_.async_wait([this](beast::error_code ec) {
            if (!ec) tick();
        });
    }

    void maybe_done() {
        if (!finished_issuing_) return;
        for (const auto& c : conns_)
            if (!c->inflight.empty()) return;
        done_();
    }

    void flush(connection& c) {
        if (c.write_busy || c.out.empty()) return;
        c.write_busy = true;
        c.writing.swap(c.out);
        c.out.clear();
        net::async_write(c.socket, net::buffer(c.writing), [this, &c](beast::error_code ec, std::size_t) {
            c.write_busy = false;
            c.writing.clear();
            if (ec) return;
            flush(c);
        });
    }

    void read_next(connection& c) {
        c.parser.emplace();
        c.parser->body_limit(16u << 20);
        http::async_read(c.socket, c.buffer, *c.parser, [this, &c](beast::error_code ec, std::size_t) {
            if (ec) return;  // connection gone: what is in flight stays unanswered
            const auto now = clock_type::now();
            if (!c.inflight.empty()) {
                const auto p = c.inflight.front();
                c.inflight.pop_front();
                if (p.counted) {
                    if (c.parser->get().result() == http::status::ok)
                        latencies_.push_back(std::chrono::duration<double, std::milli>(now - p.due).count());
                    else
                        ++errors_;
                }
            }
            maybe_done();
            read_next(c);
        });
    }

    openloop_options o_;
    net::io_context ioc_;
    net::steady_timer timer_;
    std::vector<std::unique_ptr<connection>> conns_;
    clock_type::time_point start_, warm_, end_;
    std::uint64_t issued_ = 0;
    bool finished_issuing_ = false;
    std::function<void()> done_;
    std::size_t counted_due_ = 0, errors_ = 0;
    std::vector<double> latencies_;
};

void print(const openloop_result& r) {
    std::printf(
        "openloop target_rps=%.0f achieved_rps=%.0f due=%zu ok=%zu errors=%zu unanswered=%zu p50_ms=%.3f p90_ms=%.3f "
        "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
        r.target_rate, r.achieved_rate, r.due, r.ok, r.errors, r.unanswered, r.p50, r.p90, r.p99, r.p999, r.max);
    std::fflush(stdout);
}

// ---------------------------------------------------------------- fresh

// One keep-alive HTTP/1.1 connection, synchronous.
class http_client {
public:
    http_client(const std::string& address, std::uint16_t port) : stream_(ioc_) {
        tcp::resolver resolver(ioc_);
        stream_.connect(resolver.resolve(address, std::to_string(port)));
        stream_.socket().set_option(tcp::no_delay(true));
    }
    std::pair<int, std::string> get(const std::string& target) {
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        http::write(stream_, req);
        http::response<http::string_body> res;
        http::read(stream_, buffer_, res);
        return {res.result_int(), std::move(res.body())};
    }

private:
    net::io_context ioc_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
};

std::vector<std::string> item_ids(const std::string& body) {
    std::vector<std::string> ids;
    static const std::string key = "\"item_id\":\"";
    for (std::size_t at = body.find(key); at != std::string::npos; at = body.find(key, at)) {
        at += key.size();
        auto end = body.find('"', at);
        if (end == std::string::npos) break;
        ids.push_back(body.substr(at, end - at));
    }
    return ids;
}

std::unique_ptr<RdKafka::Producer> make_producer(const std::string& brokers, bool low_latency) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", brokers, err);
    if (low_latency) {
        conf->set("linger.ms", "0", err);
    } else {
        conf->set("linger.ms", "20", err);
        conf->set("batch.num.messages", "10000", err);
        conf->set("queue.buffering.max.messages", "1000000", err);
    }
    std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
    if (!p) throw std::runtime_error("producer: " + err);
    return p;
}

struct fresh_result {
    std::size_t trials = 0, changed = 0, timeouts = 0, unstable = 0;
    double p50 = NAN, p90 = NAN, p99 = NAN, max = NAN;  // milliseconds
};

fresh_result fresh(const std::string& brokers, const std::string& topic, std::uint16_t port, int trials, int users,
                   double timeout_s = 2.0, int warmup_trials = 3, bool verbose = false) {
    auto producer = make_producer(brokers, true);
    http_client client("127.0.0.1", port);
    std::mt19937_64 rng(1);
    std::vector<double> ms;
    fresh_result r;
    // The first trials also pay for the producer's connection and metadata;
    // they run but are not counted.
    for (int t = -warmup_trials; t < trials; ++t) {
        const bool counted = t >= 0;
        const std::string user = "u" + std::to_string(1 + ((t + warmup_trials) * 37) % users);
        const std::string target = "/v1/users/" + user + "/recommendations?k=10";
        auto [s1, b1] = client.get(target);
        auto [s2, b2] = client.get(target);
        auto before = item_ids(b1);
        if (s1 != 200 || s2 != 200 || before.empty() || before != item_ids(b2)) {
            if (counted) ++r.unstable;  // exploration on (bandit.epsilon > 0) or no list: not a trial
            continue;
        }
        events::event e;
        e.type = events::event_type::like;
        e.user_id = user;
        e.item_id = before.front();
        e.ts_ms = core::wall_clock_ms();
        const std::string payload = events::encode_json(e);
        if (counted) ++r.trials;
        const auto t0 = clock_type::now();
        if (producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                              const_cast<char*>(payload.data()), payload.size(), user.data(), user.size(), 0,
                              nullptr) != RdKafka::ERR_NO_ERROR)
            throw std::runtime_error("produce failed");
        producer->poll(0);
        bool changed = false;
        while (std::chrono::duration<double>(clock_type::now() - t0).count() < timeout_s) {
            auto [s, b] = client.get(target);
            producer->poll(0);
            // Changed, and by this event: the liked item is in the user's
            // history now, which is never recommended again. (Scores can also
            // move with the clock, e.g. time-of-day features.)
            if (s != 200) continue;
            const auto now_ids = item_ids(b);
            if (now_ids != before && std::find(now_ids.begin(), now_ids.end(), e.item_id) == now_ids.end()) {
                changed = true;
                break;
            }
        }
        const double took = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
        if (verbose) std::fprintf(stderr, "trial %d %s %s %.2f ms%s\n", t, user.c_str(), changed ? "changed" : "timeout", took,
                                  counted ? "" : " (warm-up)");
        if (!counted) continue;
        if (changed) {
            ++r.changed;
            ms.push_back(took);
        } else {
            ++r.timeouts;
        }
        // A random phase against the engine's batch and publish timers.
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 10'000)(rng)));
    }
    producer->flush(5000);
    std::sort(ms.begin(), ms.end());
    r.p50 = bench::percentile(ms, 50);
    r.p90 = bench::percentile(ms, 90);
    r.p99 = bench::percentile(ms, 99);
    r.max = ms.empty() ? NAN : ms.back();
    return r;
}

void print(const fresh_result& r) {
    std::printf("fresh trials=%zu changed=%zu timeouts=%zu unstable=%zu p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
                r.trials, r.changed, r.timeouts, r.unstable, r.p50, r.p90, r.p99, r.max);
    std::fflush(stdout);
}

// ---------------------------------------------------------------- replay

std::vector<events::event> load_ratings(const std::string& dir, std::size_t limit) {
    auto events = events::load_movielens_ratings(dir + "/ratings.csv", limit);
    if (!events) throw std::runtime_error(events.error().message);
    return std::move(events).value();
}

// Produces every event `repeat` times, keyed by user; returns events per
// second produced (enqueued and delivered).
double replay(const std::string& brokers, const std::string& topic, const std::vector<events::event>& records,
              int repeat) {
    auto producer = make_producer(brokers, false);
    const auto t0 = clock_type::now();
    for (int r = 0; r < repeat; ++r) {
        for (const auto& record : records) {
            const std::string payload = events::encode_json(record);
            const std::string& key = record.user_id;
            while (producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                     const_cast<char*>(payload.data()), payload.size(), key.data(), key.size(), 0,
                                     nullptr) == RdKafka::ERR__QUEUE_FULL)
                producer->poll(10);
            producer->poll(0);
        }
    }
    if (producer->flush(120'000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("replay: flush timed out");
    return double(records.size()) * repeat / std::chrono::duration<double>(clock_type::now() - t0).count();
}

// ---------------------------------------------------------------- smoke

double counter_sum(prometheus::Registry& registry, const std::string& name) {
    double sum = 0;
    for (const auto& family : registry.Collect())
        if (family.name == name)
            for (const auto& m : family.metric) sum += m.counter.value;
    return sum;
}

int smoke() {
    spdlog::set_level(spdlog::level::warn);
    int failures = 0;
    auto check = [&](bool ok, const char* what) {
        if (!ok) {
            std::fprintf(stderr, "smoke: FAILED: %s\n", what);
            ++failures;
        }
    };
    {  // The ceiling server and the open-loop client.
        serve::http_options h;
        h.port = 0;
        serve::http_server server(h, [](serve::request&& req) { return bench::fixed_response(req); });
        server.start();
        const openloop_options o{.port = server.port(), .rate = 400, .seconds = 1.5, .warmup = 0.25, .connections = 4};
        auto r = openloop_client(o).run();
        print(r);
        check(r.due > 400 && r.ok == r.due && r.errors == 0, "open-loop: every due request answered 200");
        check(r.p50 > 0 && r.p50 <= r.p99 && r.p99 <= r.p999 && r.p999 <= r.max, "open-loop: ordered percentiles");
        check(r.achieved_rate > 0.5 * o.rate, "open-loop: achieved rate near the target");
        server.stop();
    }
    {  // An engine on the embedded broker, MovieLens replayed in, freshness trials.
        const auto dir = std::filesystem::temp_directory_path() /
                         ("serve-bench-smoke-" + std::to_string(std::random_device{}()));
        app::config c;
        c.state.path = dir.string();
        c.http.port = 0;
        c.api.recommend.slate.epsilon = 0;  // stable lists: a change means the like arrived
        // The low-latency knobs (README "Serving benchmark"), so the trials
        // take milliseconds, not the embedded broker's 500 ms fetch wait.
        c.kafka.properties["fetch.wait.max.ms"] = "5";
        c.ingest.batch_max_wait = std::chrono::milliseconds(1);
        c.applier.publish_interval = std::chrono::milliseconds(1);
        c.log_level = "warn";
        {
            app::engine_host host(c);
            const auto ratings = load_ratings(MARQUEE_SOURCE_DIR "/data/ml-latest-small", 20000);
            const double produced = replay(host.bootstrap(), c.kafka.events_topic, ratings, 1);
            std::printf("replay events=%zu produce_eps=%.0f\n", ratings.size(), produced);
            const auto deadline = clock_type::now() + std::chrono::seconds(60);
            while (counter_sum(host.registry(), "marquee_events_applied_total") < double(ratings.size()) &&
                   clock_type::now() < deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            check(counter_sum(host.registry(), "marquee_events_applied_total") >= double(ratings.size()),
                  "engine: every replayed rating applied");
            auto r = fresh(host.bootstrap(), c.kafka.events_topic, host.http_port(), 10, 130);
            print(r);
            check(r.trials >= 5 && r.changed == r.trials, "fresh: every like changed the list");
            check(r.p50 > 0 && r.p50 <= r.p99 && r.p99 <= r.max, "fresh: ordered percentiles");
            auto l = openloop_client({.port = host.http_port(), .rate = 200, .seconds = 1, .warmup = 0.2,
                                      .connections = 2, .users = 130})
                         .run();
            print(l);
            check(l.ok == l.due && l.due > 150, "open-loop on the engine: every due request answered 200");
        }
        std::filesystem::remove_all(dir);
    }
    std::printf("smoke: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 2) {
        std::fprintf(stderr, "usage: serve_bench openloop|fresh|replay|smoke [--key value ...]\n");
        return 2;
    }
    const std::string cmd = argv[1];
    args a(argc, argv, 2);
    spdlog::set_level(spdlog::level::warn);
    if (cmd == "openloop") {
        openloop_options o;
        o.address = a.str("address", o.address);
        o.port = std::uint16_t(a.num("port", 0));
        o.rate = a.num("rate", o.rate);
        o.seconds = a.num("seconds", o.seconds);
        o.warmup = a.num("warmup", o.warmup);
        o.connections = int(a.num("connections", o.connections));
        o.path = a.str("path", o.path);
        o.users = int(a.num("users", o.users));
        if (o.port == 0 || o.rate <= 0) throw std::invalid_argument("openloop needs --port and a positive --rate");
        print(openloop_client(o).run());
        return 0;
    }
    if (cmd == "fresh") {
        print(fresh(a.str("brokers", ""), a.str("topic", "marquee.events"), std::uint16_t(a.num("port", 0)),
                    int(a.num("trials", 300)), int(a.num("users", 610)), a.num("timeout", 2.0),
                    int(a.num("warmup-trials", 3)), a.num("verbose", 0) != 0));
        return 0;
    }
    if (cmd == "replay") {
        const std::string dir = a.str("movielens", MARQUEE_SOURCE_DIR "/data/ml-latest-small");
        const auto ratings = load_ratings(dir, std::size_t(a.num("limit", 0)));
        const int repeat = int(a.num("repeat", 1));
        const double eps = replay(a.str("brokers", ""), a.str("topic", "marquee.events"), ratings, repeat);
        std::printf("replay events=%zu produce_eps=%.0f\n", ratings.size() * std::size_t(repeat), eps);
        return 0;
    }
    if (cmd == "smoke") return smoke();
    std::fprintf(stderr, "serve_bench: unknown subcommand %s\n", cmd.c_str());
    return 2;
} catch (const std::exception& e) {
    std::fprintf(stderr, "serve_bench: %s\n", e.what());
    return 2;
}
