// decision_writer over a real RocksDB store: a put completes only once its
// decision can be read back and its log message is sent, and shutting down
// writes what is queued.
#include "serve/decision_writer.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "serve/serve_fixture.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

namespace marquee::serve {
namespace {

namespace net = boost::asio;

engine::pending_decision decision_for(const std::string& user) {
    engine::pending_decision d;
    d.user_id = user;
    d.served_ms = 1'000;
    d.items.push_back({.item_id = "m1", .features = bandits::feature_vector::Constant(0.5), .propensity = 0.9});
    return d;
}

bool was_sent(capture_sink& sink, const std::string& key, const std::string& value) {
    for (const auto& m : sink.all())
        if (m.first == key && m.second == value) return true;
    return false;
}

TEST(decision_writer, a_put_completes_only_once_its_decision_is_stored_and_logged) {
    testing::temp_dir dir;
    auto store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry registry;
    capture_sink log;
    decision_writer writer(*store, registry, &log);

    constexpr int puts = 400;
    std::atomic<int> readable{0}, logged{0}, failed{0};
    net::io_context ioc;
    for (int i = 0; i < puts; ++i)
        net::co_spawn(
            ioc,
            [&, i]() -> net::awaitable<void> {
                const std::string id = "d" + std::to_string(i), user = "u" + std::to_string(i);
                auto written = co_await writer.async_put(id, decision_for(user), "log " + id, net::use_awaitable);
                if (!written) ++failed;
                auto stored = store->get_decision(id);
                if (stored && stored.value() && stored.value()->user_id == user) ++readable;
                if (was_sent(log, user, "log " + id)) ++logged;
            },
            net::detached);
    std::thread other([&] { ioc.run(); });
    ioc.run();
    other.join();

    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(readable.load(), puts);
    EXPECT_EQ(logged.load(), puts);
    EXPECT_EQ(log.all().size(), std::size_t(puts));
    EXPECT_EQ(testing::histogram_totals(registry, "marquee_decision_write_batch_size").first,
              double(puts));  // each decision in exactly one write
}

struct refusing_sink : core::message_sink {
    core::result<void> send(std::string_view, std::string_view) override {
        return core::error{"queue_full", "the producer queue is full"};
    }
};

TEST(decision_writer, a_log_message_the_sink_refuses_is_counted_and_the_decision_still_stored) {
    testing::temp_dir dir;
    auto store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry registry;
    refusing_sink log;
    net::io_context ioc;
    int stored = 0;
    {
        decision_writer writer(*store, registry, &log);
        for (int i = 0; i < 3; ++i)
            writer.async_put("r" + std::to_string(i), decision_for("u"), "log",
                             net::bind_executor(ioc, [&](core::result<void> r) { stored += r ? 1 : 0; }));
        writer.async_put("r3", decision_for("u"), "",
                         net::bind_executor(ioc, [&](core::result<void> r) { stored += r ? 1 : 0; }));
        ioc.run();
    }
    EXPECT_EQ(stored, 4);
    // Not the one without a message; none of them failed to be stored.
    EXPECT_EQ(testing::metric_sum(registry, "marquee_decision_log_errors_total", "stage", "log"), 3.0);
    EXPECT_EQ(testing::metric_sum(registry, "marquee_decision_log_errors_total", "stage", "store"), 0.0);
}

TEST(decision_writer, a_decision_that_could_not_be_stored_fails_its_put_and_is_not_logged) {
    testing::temp_dir dir;
    auto store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry registry;
    capture_sink log;
    net::io_context ioc;
    std::optional<core::result<void>> outcome;
    {
        decision_writer writer(*store, registry, &log);
        testing::failing_file_writes disk_full;
        writer.async_put("lost", decision_for("u"), "log lost",
                         net::bind_executor(ioc, [&](core::result<void> r) { outcome = std::move(r); }));
        ioc.run();
    }
    ASSERT_TRUE(outcome);
    EXPECT_FALSE(*outcome) << "the put reports the failed write";
    EXPECT_FALSE(was_sent(log, "u", "log lost")) << "no log record for a decision that was not stored";
    EXPECT_EQ(testing::metric_sum(registry, "marquee_decision_log_errors_total", "stage", "store"), 1.0);
    EXPECT_EQ(testing::metric_sum(registry, "marquee_decision_log_errors_total", "stage", "log"), 0.0);
}

TEST(decision_writer, shutting_down_stores_and_completes_every_queued_put) {
    testing::temp_dir dir;
    auto store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry registry;
    net::io_context ioc;  // not running yet: completions wait in its queue
    int completed = 0;
    {
        decision_writer writer(*store, registry, nullptr);
        for (int i = 0; i < 50; ++i)
            writer.async_put("q" + std::to_string(i), decision_for("u"), "",
                             net::bind_executor(ioc, [&](core::result<void> r) { completed += r ? 1 : 0; }));
    }
    for (int i = 0; i < 50; ++i) EXPECT_TRUE(store->get_decision("q" + std::to_string(i)).value()) << i;
    EXPECT_EQ(completed, 0);  // completions run on their own executor, never on the writer's thread
    ioc.run();
    EXPECT_EQ(completed, 50);
}

TEST(decision_writer, a_pending_put_keeps_its_io_context_running_until_it_completes) {
    testing::temp_dir dir;
    auto store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry registry;
    decision_writer writer(*store, registry, nullptr);
    net::io_context ioc;
    int completed = 0;
    for (int round = 0; round < 20; ++round) {
        writer.async_put("w" + std::to_string(round), decision_for("u"), "",
                         net::bind_executor(ioc, [&](core::result<void> r) { completed += r ? 1 : 0; }));
        ioc.restart();
        ioc.run();  // without the writer's work on ioc this returns at once, before the write
        EXPECT_EQ(completed, round + 1);
    }
}


// The writer's wake-up rides on a caller's executor. One that never runs
// must not hold back its own decision's write, nor anyone else's put.
TEST(decision_writer, a_caller_executor_that_never_runs_delays_no_put_for_long) {
    testing::temp_dir dir;
    auto store = state::store::open({.path = dir.str()}).value();
    prometheus::Registry registry;
    net::io_context idle;  // never run
    net::io_context running;
    int completed = 0;
    decision_writer writer(*store, registry, nullptr);
    auto put = [&](const std::string& id, net::io_context& on) {
        writer.async_put(id, decision_for("u"), "",
                         net::bind_executor(on, [&](core::result<void> r) { completed += r ? 1 : 0; }));
    };
    // One put through, then a pause, so that the writer is asleep: otherwise
    // it could find the next puts queued without any wake-up.
    put("first", running);
    running.run();
    ASSERT_EQ(completed, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    put("stuck", idle);    // its wake-up waits in `idle`
    put("next", running);  // a wake-up is already on its way: none posted
    running.restart();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (completed < 2 && std::chrono::steady_clock::now() < deadline) running.run_for(std::chrono::milliseconds(10));
    EXPECT_EQ(completed, 2) << "the put after the stuck one never completed";
    EXPECT_TRUE(store->get_decision("stuck").value()) << "the stuck caller's decision was never written";
    idle.run();  // the stuck put's completion and the wake-up it carried
    EXPECT_EQ(completed, 3);
}

}  // namespace
}  // namespace marquee::serve
