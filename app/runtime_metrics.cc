#include "app/runtime_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

namespace marquee::app {

namespace {

prometheus::Gauge& gauge(prometheus::Registry& r, const std::string& name, const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

struct runtime_metrics::impl {
    const state::store& store;
    std::mutex mutex;  // concurrent scrapes must not double-count stall deltas
    prometheus::Gauge& sst_bytes;
    prometheus::Gauge& memtable_bytes;
    prometheus::Gauge& pending_compaction_bytes;
    prometheus::Gauge& running_compactions;
    prometheus::Gauge& write_stopped;
    prometheus::Gauge& delayed_write_rate;
    prometheus::Counter& stall_seconds;
    prometheus::Gauge& pending_decisions;
    prometheus::Counter& cpu_seconds;
    double last_cpu_seconds = 0;
    prometheus::Gauge& resident_bytes;
    prometheus::Gauge& virtual_bytes;
    prometheus::Gauge& open_fds;
    prometheus::Gauge& start_time;
    std::uint64_t last_stall_micros = 0;

    impl(prometheus::Registry& r, const state::store& s)
        : store(s),
          sst_bytes(gauge(r, "marquee_rocksdb_live_sst_bytes", "Size of the live SST files")),
          memtable_bytes(gauge(r, "marquee_rocksdb_memtable_bytes", "Size of all memtables")),
          pending_compaction_bytes(gauge(r, "marquee_rocksdb_pending_compaction_bytes",
                                         "Bytes compaction still has to rewrite (estimate)")),
          running_compactions(gauge(r, "marquee_rocksdb_running_compactions", "Compactions in progress")),
          write_stopped(gauge(r, "marquee_rocksdb_write_stopped", "1 while RocksDB stops writes")),
          delayed_write_rate(gauge(r, "marquee_rocksdb_delayed_write_rate_bytes",
                                   "Write rate RocksDB throttles to, bytes/s (0: not throttled)")),
          stall_seconds(prometheus::BuildCounter()
                            .Name("marquee_rocksdb_write_stall_seconds_total")
                            .Help("Time writes spent stalled by RocksDB")
                            .Register(r)
                            .Add({})),
          pending_decisions(gauge(r, "marquee_pending_decisions",
                                  "Served decisions still waiting for rewards (estimate)")),
          cpu_seconds(prometheus::BuildCounter()
                          .Name("process_cpu_seconds_total")
                          .Help("Total user and system CPU time spent in seconds")
                          .Register(r)
                          .Add({})),
          resident_bytes(gauge(r, "process_resident_memory_bytes", "Resident memory size in bytes")),
          virtual_bytes(gauge(r, "process_virtual_memory_bytes", "Virtual memory size in bytes")),
          open_fds(gauge(r, "process_open_fds", "Number of open file descriptors")),
          start_time(gauge(r, "process_start_time_seconds", "Start time of the process since unix epoch in seconds")) {
        start_time.Set(double(std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()));
    }

    void refresh_process() {
        std::ifstream in("/proc/self/stat");
        std::string line;
        if (!std::getline(in, line)) return;
        // Fields after the parenthesised command name, which may hold spaces.
        std::istringstream rest(line.substr(line.rfind(')') + 2));
        std::string field;
        double utime = 0, stime = 0, vsize = 0, rss = 0;
        for (int i = 3; rest >> field; ++i) {
            if (i == 14) utime = std::stod(field);
            else if (i == 15) stime = std::stod(field);
            else if (i == 23) vsize = std::stod(field);
            else if (i == 24) {
                rss = std::stod(field);
                break;
            }
        }
        const double ticks = double(sysconf(_SC_CLK_TCK));
        const double cpu = (utime + stime) / ticks;  // cumulative: feed the counter the delta
        if (cpu > last_cpu_seconds) cpu_seconds.Increment(cpu - last_cpu_seconds);
        last_cpu_seconds = std::max(last_cpu_seconds, cpu);
        virtual_bytes.Set(vsize);
        resident_bytes.Set(rss * double(sysconf(_SC_PAGESIZE)));
        std::error_code ec;
        std::size_t fds = 0;
        for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
            ++fds;
        open_fds.Set(double(fds));
    }
};

runtime_metrics::runtime_metrics(prometheus::Registry& registry, const state::store& store)
    : impl_(std::make_unique<impl>(registry, store)) {}

runtime_metrics::~runtime_metrics() = default;

void runtime_metrics::refresh() {
    std::lock_guard lock(impl_->mutex);
    const auto s = impl_->store.stats();
    impl_->sst_bytes.Set(double(s.live_sst_bytes));
    impl_->memtable_bytes.Set(double(s.memtable_bytes));
    impl_->pending_compaction_bytes.Set(double(s.pending_compaction_bytes));
    impl_->running_compactions.Set(double(s.running_compactions));
    impl_->write_stopped.Set(s.write_stopped ? 1.0 : 0.0);
    impl_->delayed_write_rate.Set(double(s.delayed_write_rate));
    if (s.stall_micros > impl_->last_stall_micros) {
        impl_->stall_seconds.Increment(double(s.stall_micros - impl_->last_stall_micros) / 1e6);
        impl_->last_stall_micros = s.stall_micros;
    }
    impl_->pending_decisions.Set(double(s.pending_decisions));
    impl_->refresh_process();
}

}  // namespace marquee::app
