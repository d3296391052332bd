// Ingest throughput: Marquee's full ingest path against a consume-only
// librdkafka loop over the same messages on the same broker, in one process
// and one run, so the ratio holds on a noisy machine.
//   ingest_bench [--events N] [--partitions P] [--batch MAX_MESSAGES] [--brokers host:port]
// Without --brokers it uses an embedded (in-process) broker.
#include <librdkafka/rdkafkacpp.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "stream/batch_applier.h"
#include "stream/embedded_broker.h"
#include "stream/ingest_loop.h"

using namespace marquee;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

long peak_rss_mib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

// MovieLens-shaped: 600 users per 100k events, Zipf-ish items, mostly ratings/watches.
void produce(const std::string& bootstrap, const std::string& topic, long n) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("linger.ms", "20", err);
    conf->set("batch.num.messages", "10000", err);
    conf->set("queue.buffering.max.messages", "1000000", err);
    std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
    std::mt19937_64 rng(42);
    const int users = int(std::max<long>(600, n / 170)), items = 10000;
    std::uniform_int_distribution<int> user(0, users - 1);
    std::uniform_real_distribution<double> unit(0, 1);
    char buf[256];
    for (long i = 0; i < n; ++i) {
        const int item = int(std::pow(unit(rng), 2.5) * items);  // skewed towards low ids
        const std::string key = "u" + std::to_string(user(rng));
        int len;
        if (unit(rng) < 0.6)
            len = std::snprintf(buf, sizeof buf, R"({"type":"rating","user_id":"%s","item_id":"m%d","ts":%ld,"value":%.1f})",
                                key.c_str(), item, 1'500'000'000'000L + i * 1000, 0.5 * (1 + int(unit(rng) * 10)));
        else
            len = std::snprintf(buf, sizeof buf, R"({"type":"watch","user_id":"%s","item_id":"m%d","ts":%ld,"value":%.2f})",
                                key.c_str(), item, 1'500'000'000'000L + i * 1000, unit(rng));
        while (p->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, buf, std::size_t(len),
                          key.data(), key.size(), 0, nullptr) == RdKafka::ERR__QUEUE_FULL)
            p->poll(10);
        p->poll(0);
    }
    p->flush(120'000);
}

// The ceiling: a consumer-group loop that reads every message and touches its bytes.
double consume_only(const std::string& bootstrap, const std::string& topic, long n) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("group.id", "bench-ceiling", err);
    conf->set("auto.offset.reset", "earliest", err);
    conf->set("enable.auto.commit", "false", err);
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    c->subscribe({topic});
    long seen = 0;
    std::uint64_t checksum = 0;
    clock_type::time_point start{};
    auto last_message = clock_type::now();
    while (seen < n) {
        std::unique_ptr<RdKafka::Message> m(c->consume(100));
        if (m->err() != RdKafka::ERR_NO_ERROR) {
            // The embedded broker keeps a bounded log per partition: a run
            // larger than it holds never completes. Say so instead of hanging.
            if (seconds_since(last_message) > 15)
                throw std::runtime_error("only " + std::to_string(seen) + " of " + std::to_string(n) +
                                         " events could be read back; use --brokers with a real broker for large runs");
            continue;
        }
        last_message = clock_type::now();
        if (seen == 0) start = clock_type::now();  // exclude group join time
        checksum += static_cast<const unsigned char*>(m->payload())[m->len() / 2];
        ++seen;
    }
    const double s = seconds_since(start);
    c->close();
    if (checksum == 42) std::puts("");  // keep the reads
    return double(n) / s;
}

double full_ingest(const std::string& bootstrap, const std::string& topic, long n, const std::string& dir,
                   const stream::ingest_options& options) {
    prometheus::Registry registry;
    auto opened = state::store::open({.path = dir});
    if (!opened) throw std::runtime_error(opened.error().message);
    auto store = std::move(opened).value();
    engine::model model{engine::model_options{}};
    core::snapshot_cell<engine::model_snapshot> snapshots;
    stream::ingest_probe probe(registry);
    stream::batch_applier applier(*store, model, snapshots, nullptr, probe);
    stream::kafka_options kafka;
    kafka.brokers = bootstrap;
    kafka.events_topic = topic;
    kafka.group_id = "bench-marquee";
    stream::ingest_loop loop(kafka, options, *store, applier, probe);
    std::atomic<bool> stop{false};
    std::thread t([&] { (void)loop.run(stop); });
    while (probe.applied_total() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto start = clock_type::now();  // first batch committed: group join excluded
    const double first = probe.applied_total();
    while (probe.applied_total() < double(n)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const double s = seconds_since(start);
    stop = true;
    t.join();
    return (double(n) - first) / s;
}

}  // namespace

int main(int argc, char** argv) try {
    long n = 1'000'000;
    int partitions = 4;
    std::string brokers;
    stream::ingest_options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--batch")) options.batch_max_messages = std::stoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--events")) n = std::stol(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--partitions")) partitions = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--brokers")) brokers = argv[i + 1];
    }
    spdlog::set_level(spdlog::level::warn);
    std::unique_ptr<stream::embedded_broker> broker;
    const std::string topic = "bench.events." + std::to_string(std::random_device{}());
    if (brokers.empty()) {
        broker = std::make_unique<stream::embedded_broker>();
        broker->create_topic(topic, partitions);
        brokers = broker->bootstrap();
    }
    const auto dir = std::filesystem::temp_directory_path() / ("marquee-bench-" + std::to_string(std::random_device{}()));

    auto t0 = clock_type::now();
    produce(brokers, topic, n);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("produced %ld events to %s in %.1f s\n", n, brokers.c_str(), seconds_since(t0));
    const double ceiling = consume_only(brokers, topic, n);
    std::printf("(a) consume-only librdkafka loop: %10.0f events/s\n", ceiling);
    const long rss_before = peak_rss_mib();
    const double marquee = full_ingest(brokers, topic, n, dir.string(), options);
    std::printf("(b) Marquee full ingest:          %10.0f events/s  (decode + state + embeddings + bandit + RocksDB write)\n",
                marquee);
    std::printf("ratio (b)/(a): %.2f   peak RSS: %ld MiB (%ld MiB before ingest)\n", marquee / ceiling, peak_rss_mib(),
                rss_before);
    std::filesystem::remove_all(dir);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "ingest_bench: %s\n", e.what());
    return 1;
}
