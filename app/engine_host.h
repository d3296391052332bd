// engine_host: one running Marquee: store, model, ingest thread, HTTP server
// and (with no brokers configured) the embedded Kafka broker, wired together
// and torn down in the right order. Used by `marquee run`/`demo` and by the
// integration tests, which need many engines in one process.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "app/config.h"

namespace prometheus {
class Registry;
}

namespace marquee::stream {
class embedded_broker;
class kafka_producer;
}

namespace marquee::app {

class engine_host {
public:
    // Opens the store, loads the model, starts the embedded broker if no
    // bootstrap servers are set, and starts ingest and HTTP. Throws
    // std::runtime_error / std::invalid_argument on start-up failure.
    explicit engine_host(config c);
    // shutdown(), then flushes producers and closes the store.
    ~engine_host();

    // Stops ingest (committing its last batch and leaving the group) and
    // HTTP (refusing new connections at once, answering requests in
    // progress) in parallel, and waits for both; false if ingest ended on a
    // fatal error. Idempotent. With the embedded broker, whose log ends with
    // the process, HTTP stops first and ingest then applies what the broker
    // holds (up to 10 s) before it stops.
    bool shutdown();

    // False once ingest has ended (after stop() or a fatal error).
    bool running() const;
    // Asks ingest to stop (safe from any thread and from a signal handler's
    // watcher thread). Before shutdown(), it also skips the embedded
    // broker's drain: what the broker holds unapplied is then lost.
    void stop();

    const std::string& bootstrap() const;  // Kafka bootstrap in use
    // The embedded broker; null with external brokers. For tests' faults.
    stream::embedded_broker* embedded_broker();
    // The producer of events and rewards posted over HTTP. For tests' faults.
    stream::kafka_producer& http_producer();
    std::uint16_t http_port() const;
    // Ingest assigned and caught up (ingest.ready_max_lag), and no producer
    // failed fatally (it could never log a decision or deliver an event again).
    bool ready() const;
    // Model version found in the store at start-up (0: a new data dir).
    std::uint64_t loaded_version() const;
    prometheus::Registry& registry();
    const config& settings() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace marquee::app
