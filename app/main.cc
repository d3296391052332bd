// marquee: the streaming personalization engine's command-line entry point.
//   marquee run            consume events, serve recommendations
//   marquee demo           the same on an embedded broker, fed with MovieLens
//   marquee config print   every setting with its current value
//   marquee state checksum deterministic digest of a data dir's state
//   marquee state replay   apply MovieLens straight to a data dir (no Kafka)
//   marquee evaluate ...   prequential, replay and off-policy evaluation
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "app/config.h"
#include "app/direct_replay.h"
#include "app/engine_host.h"
#include "app/log_format.h"
#include "app/evaluate_cmd.h"
#include "events/movielens.h"
#include "state/store.h"
#include "stream/kafka_producer.h"

#include <prometheus/registry.h>

extern char** environ;

namespace {

using namespace marquee;

// Set by SIGINT/SIGTERM; a signal handler can do nothing richer.
std::atomic<bool> signalled{false};

void on_signal(int) { signalled = true; }

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

struct common_flags {
    std::string config_file;
    std::vector<std::string> sets;
    std::string brokers, data_dir, listen, dlq;
    std::optional<int> port;
};

void add_common(CLI::App& cmd, common_flags& f) {
    cmd.add_option("-c,--config", f.config_file, "TOML configuration file")->check(CLI::ExistingFile);
    cmd.add_option("--set", f.sets, "Override a setting: key=value (repeatable)");
    cmd.add_option("--brokers", f.brokers, "Kafka bootstrap servers (default: start an embedded broker)");
    cmd.add_option("--data-dir", f.data_dir, "State directory (state.data_dir)");
    cmd.add_option("--dlq", f.dlq, "Dead-letter topic (topics.dlq), or 'off' to only count invalid events");
    cmd.add_option("--listen", f.listen, "HTTP listen address (http.address)");
    cmd.add_option("--port", f.port, "HTTP port (http.port)");
}

app::config build_config(const common_flags& f) {
    app::config c;
    if (!f.config_file.empty()) app::apply_toml_file(c, f.config_file);
    app::apply_environment(c, environ);
    for (const auto& kv : f.sets) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--set expects key=value, got '" + kv + "'");
        app::set(c, kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (!f.brokers.empty()) c.kafka.brokers = f.brokers;
    if (!f.data_dir.empty()) c.state.path = f.data_dir;
    if (!f.dlq.empty()) c.kafka.dlq_topic = f.dlq == "off" ? std::string() : f.dlq;
    if (!f.listen.empty()) c.http.address = f.listen;
    if (f.port) app::set(c, "http.port", std::to_string(*f.port));  // range-checked like --set
    app::validate(c);
    auto level = spdlog::level::from_str(c.log_level);
    if (level == spdlog::level::off && c.log_level != "off")
        throw std::invalid_argument("log.level: unknown level '" + c.log_level + "'");
    spdlog::set_level(level);
    app::set_log_format(c.log_format);
    return c;
}

// Produces `records` to `topic`, keyed by `key_of(record)`, as fast as the
// producer queue allows (a full queue waits, it never drops). Returns how
// many were delivered (all that were enqueued before a signal, if any), or
// why not all of them were.
template <class Record, class KeyOf>
core::result<std::size_t> replay(const app::config& c, const std::string& topic, const std::vector<Record>& records,
                                 KeyOf key_of) {
    prometheus::Registry scratch;
    stream::kafka_producer producer(c.kafka, scratch);
    std::size_t sent = 0;
    for (const auto& record : records) {
        const std::string payload = events::encode_json(record);
        bool queued = false;
        while (!queued && !signalled) {
            auto r = producer.produce(topic, key_of(record), payload);
            queued = bool(r);
            if (!r && r.error().reason != "queue_full")
                return core::error{"replay", "replay to " + topic + ": " + r.error().message};
            if (!queued) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (!queued) break;
        ++sent;
    }
    // Up to 60 s for the brokers to take it all; once a signal asks the
    // process to end (before or during that wait), 5 s more at most.
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    auto deadline = started + std::chrono::seconds(signalled ? 5 : 60);
    bool signal_seen = signalled;
    while (!producer.flush(std::chrono::milliseconds(100))) {
        const auto now = clock::now();
        if (signalled && !signal_seen) {
            signal_seen = true;
            deadline = std::min(deadline, now + std::chrono::seconds(5));
        }
        if (now >= deadline) {
            producer.close(std::chrono::milliseconds(0));  // not the destructor's 10 s more
            return core::error{"replay", "replay to " + topic + ": not delivered within " +
                                             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                                 now - started).count()) +
                                             " s"};
        }
    }
    if (const auto failed = producer.failed_deliveries(topic))
        return core::error{"replay", "replay to " + topic + ": " + std::to_string(failed) + " of " +
                                         std::to_string(sent) + " records not delivered"};
    return sent;
}

int run(const common_flags& flags, bool demo, const std::string& movielens, std::size_t limit, bool fresh) {
    auto cfg = build_config(flags);
    if (demo && fresh && std::filesystem::exists(cfg.state.path)) {
        if (!std::filesystem::exists(std::filesystem::path(cfg.state.path) / "CURRENT"))
            throw std::invalid_argument("--fresh: " + cfg.state.path + " does not look like a Marquee data dir; not deleting it");
        // Deleting it under a running engine would lose both: the running
        // one's state, and (its files removed at its exit) this one's.
        if (state::store::in_use(cfg.state.path))
            throw std::invalid_argument("--fresh: " + cfg.state.path +
                                        " is in use by another process (a running Marquee); not deleting it");
        std::filesystem::remove_all(cfg.state.path);
        spdlog::info("--fresh: removed {}", cfg.state.path);
    }
    install_signal_handlers();
    app::engine_host host(std::move(cfg));
    // The addresses for people (the JSON log carries them for machines).
    if (host.settings().log_format == "text") {
        std::printf("Kafka bootstrap: %s\n", host.bootstrap().c_str());
        std::printf("  produce events: kcat -b %s -t %s -P -K:\n", host.bootstrap().c_str(),
                    host.settings().kafka.events_topic.c_str());
        std::printf("HTTP: http://%s:%u  (try /v1/users/u1/recommendations?k=10, /metrics)\n",
                    host.settings().http.address.c_str(), unsigned(host.http_port()));
        std::fflush(stdout);
    }

    std::thread replayer;
    std::atomic<bool> replay_failed{false};
    if (demo) {
        if (host.loaded_version() > 0) {
            // The embedded broker's log ended with the last process: what it
            // had not applied then is gone, and this state may be partial.
            spdlog::info("demo: {} already holds state (model version {}); not replaying MovieLens again. If an "
                         "earlier demo was killed before its replay was applied, that state is partial: --fresh "
                         "starts over", host.settings().state.path, host.loaded_version());
        } else {
            auto movies = events::load_movielens_movies(movielens + "/movies.csv");
            if (!movies) throw std::runtime_error("demo: " + movies.error().message);
            auto events = events::load_movielens_ratings(movielens + "/ratings.csv", limit);
            if (!events) throw std::runtime_error("demo: " + events.error().message);
            auto all = std::move(events).value();
            replayer = std::thread([&host, &replay_failed, all = std::move(all), catalog = std::move(movies).value()] {
                // The catalog first, so the items exist (with titles) before
                // their ratings arrive; the two topics are consumed
                // independently, so this is "usually", and either order converges.
                spdlog::info("demo: replaying {} MovieLens movies into {}", catalog.size(),
                             host.settings().kafka.items_topic);
                auto items = replay(host.settings(), host.settings().kafka.items_topic, catalog,
                                    [](const events::catalog_item& i) -> const std::string& { return i.item_id; });
                if (items) {
                    spdlog::info("demo: catalog replay done, {} items delivered", items.value());
                    spdlog::info("demo: replaying {} MovieLens ratings into {}", all.size(),
                                 host.settings().kafka.events_topic);
                }
                auto sent = items ? replay(host.settings(), host.settings().kafka.events_topic, all,
                                           [](const events::event& e) -> const std::string& { return e.user_id; })
                                  : core::result<std::size_t>(items.error());
                if (sent) {
                    spdlog::info("demo: replay done, {} events delivered", sent.value());
                } else {
                    spdlog::error("demo: {}; stopping", sent.error().message);
                    std::fprintf(stderr, "marquee: %s\n", sent.error().message.c_str());
                    replay_failed = true;
                }
            });
        }
    }
    while (!signalled && !replay_failed && host.running()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (signalled) spdlog::info("signal received: shutting down");
    signalled = true;  // also stops the replay thread, which flushes meanwhile
    const bool ingest_ok = host.shutdown();
    if (replayer.joinable()) replayer.join();
    return ingest_ok && !replay_failed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    app::set_log_format("text");
    CLI::App cli{"Marquee: real-time streaming personalization engine"};
    cli.require_subcommand(1);

    common_flags flags;
    auto* run_cmd = cli.add_subcommand("run", "Consume events from Kafka and serve recommendations");
    add_common(*run_cmd, flags);

    std::string movielens = MARQUEE_SOURCE_DIR "/data/ml-latest-small";
    std::size_t limit = 0;
    bool fresh = false;
    auto* demo_cmd = cli.add_subcommand("demo", "Replay MovieLens into the events topic, then keep serving");
    add_common(*demo_cmd, flags);
    demo_cmd->add_option("--movielens", movielens, "Directory holding MovieLens movies.csv and ratings.csv");
    demo_cmd->add_option("--limit", limit, "Replay only the first N ratings (0: all)")->check(CLI::NonNegativeNumber);
    demo_cmd->add_flag("--fresh", fresh, "Delete the data dir first");

    auto* config_cmd = cli.add_subcommand("config", "Configuration");
    auto* print_cmd = config_cmd->add_subcommand("print", "Print every setting and its current value");
    add_common(*print_cmd, flags);
    config_cmd->require_subcommand(1);

    auto* state_cmd = cli.add_subcommand("state", "Inspect a data dir");
    auto* checksum_cmd = state_cmd->add_subcommand("checksum", "Deterministic digest of users, items and bandit");
    add_common(*checksum_cmd, flags);
    auto* replay_cmd = state_cmd->add_subcommand(
        "replay", "Apply MovieLens ratings straight to a data dir, without Kafka (the checksum reference)");
    add_common(*replay_cmd, flags);
    replay_cmd->add_option("--movielens", movielens, "Directory holding MovieLens ratings.csv");
    replay_cmd->add_option("--limit", limit, "Apply only the first N ratings (0: all)")->check(CLI::NonNegativeNumber);
    bool with_catalog = false;
    replay_cmd->add_flag("--catalog", with_catalog,
                         "Apply movies.csv first as the catalog (titles, genres), as `demo` does through Kafka");
    state_cmd->require_subcommand(1);

    app::add_evaluate_commands(cli);
    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 prints the message (or the help); a bad command line is a
        // usage error like a bad setting: exit 2, not CLI11's 1xx codes.
        return cli.exit(e) == 0 ? 0 : 2;
    }
    try {
        if (run_cmd->parsed()) return run(flags, false, movielens, 0, false);
        if (demo_cmd->parsed()) return run(flags, true, movielens, limit, fresh);
        if (print_cmd->parsed()) {
            std::fputs(app::print(build_config(flags)).c_str(), stdout);
            return 0;
        }
        if (replay_cmd->parsed()) {
            auto cfg = build_config(flags);
            std::vector<events::catalog_item> catalog;
            if (with_catalog) {
                auto movies = events::load_movielens_movies(movielens + "/movies.csv");
                if (!movies) throw std::runtime_error(movies.error().message);
                catalog = std::move(movies).value();
            }
            auto events = events::load_movielens_ratings(movielens + "/ratings.csv", limit);
            if (!events) throw std::runtime_error(events.error().message);
            const auto applied = app::direct_replay(cfg, catalog, events.value());
            if (with_catalog) std::printf("applied %zu catalog records to %s\n", applied.catalog, cfg.state.path.c_str());
            std::printf("applied %zu events to %s\n", applied.events, cfg.state.path.c_str());
            return 0;
        }
        if (checksum_cmd->parsed()) {
            auto cfg = build_config(flags);
            cfg.state.create_if_missing = false;  // a digest of a typo'd path is no digest
            auto store = state::store::open(cfg.state);
            if (!store) throw std::runtime_error(store.error().message);
            auto sum = store.value()->checksum();
            if (!sum) throw std::runtime_error(sum.error().message);
            std::printf("%016llx\n", (unsigned long long)sum.value());
            return 0;
        }
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        std::fprintf(stderr, "marquee: %s\n", e.what());
        return 2;
    }
    return 0;
}
