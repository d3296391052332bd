#include "serve/decision_writer.h"

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "serve/decision_log_metrics.h"

namespace marquee::serve {

struct decision_writer::impl {
    static constexpr std::chrono::milliseconds wake_fallback{10};

    state::store& store;
    core::message_sink* log;
    prometheus::Histogram& batch_size;
    prometheus::Counter& store_errors;
    prometheus::Counter& log_errors;
    std::mutex mutex;
    std::condition_variable wake;
    // Bounded without a cap: every queued decision is a request waiting for
    // it, and a connection sends its next request only after the answer.
    std::vector<entry> queue;
    bool stopping = false;
    bool wake_posted = false;  // a wake-up is on its way (see enqueue)
    std::thread thread;

    impl(state::store& s, prometheus::Registry& registry, core::message_sink* l)
        : store(s),
          log(l),
          batch_size(prometheus::BuildHistogram()
                         .Name("marquee_decision_write_batch_size")
                         .Help("Served decisions stored per RocksDB write (group commit)")
                         .Register(registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128})),
          store_errors(decision_log_errors(registry, decision_log_stage::store)),
          log_errors(decision_log_errors(registry, decision_log_stage::log)) {}

    void run() {
        std::vector<entry> batch;
        for (;;) {
            {
                std::unique_lock lock(mutex);
                // The wake-up enqueue posts normally ends the wait. It rides on
                // a caller's executor, though, and one that is not running
                // would hold back every put after it: the timeout bounds that
                // delay, for ~100 idle wake-ups a second.
                while (!stopping && queue.empty()) wake.wait_for(lock, wake_fallback);
                if (queue.empty()) return;
                batch.swap(queue);
            }
            auto changes = store.begin();
            for (const auto& e : batch) changes.put_decision(e.id, e.decision);
            const auto written = store.commit(changes);
            batch_size.Observe(double(batch.size()));
            if (!written) {
                store_errors.Increment(double(batch.size()));
                spdlog::warn("http: recording {} decision(s): {}", batch.size(), written.error().message);
            }
            // The log lists decisions a reward can find: none that were not stored.
            if (written)
                for (const auto& e : batch)
                    if (log && !e.log_message.empty() && !log->send(e.decision.user_id, e.log_message))
                        log_errors.Increment();
            for (auto& e : batch) boost::asio::post(e.work, boost::asio::append(std::move(e.done), written));
            batch.clear();  // releases the work only after the completions are queued
        }
    }
};

decision_writer::decision_writer(state::store& store, prometheus::Registry& registry, core::message_sink* log)
    : impl_(std::make_shared<impl>(store, registry, log)) {
    impl_->thread = std::thread([i = impl_.get()] { i->run(); });
}

decision_writer::~decision_writer() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->wake.notify_one();
    impl_->thread.join();
}

void decision_writer::enqueue(entry e) {
    // Waking the writer for each decision cost the HTTP thread more than the
    // write had (a cross-CPU futex wake-up, 11 % of its samples). The wake is
    // posted instead, so it runs once the I/O thread has handled whatever else
    // was ready, and one wake-up carries every decision queued meanwhile
    // (about 7 per write under wrk, against 1 before).
    bool post_wake = false;
    auto executor = e.work;
    {
        std::lock_guard lock(impl_->mutex);
        impl_->queue.push_back(std::move(e));
        post_wake = !std::exchange(impl_->wake_posted, true);
    }
    if (post_wake)
        boost::asio::post(executor, [weak = std::weak_ptr<impl>(impl_)] {
            auto i = weak.lock();
            if (!i) return;  // the writer is gone, and wrote everything first
            {
                std::lock_guard lock(i->mutex);
                i->wake_posted = false;
            }
            i->wake.notify_one();
        });
}

}  // namespace marquee::serve
