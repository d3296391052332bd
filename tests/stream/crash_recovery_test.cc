// Exactly-once across a crash: the real `marquee` binary is SIGKILLed while
// consuming from a broker owned by this test, then restarted on the same
// data dir. Every event must be applied once: none lost, none twice.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/asio.hpp>
#include <csignal>
#include <regex>

#include "state/store.h"
#include "stream/embedded_broker.h"
#include "stream/stream_fixtures.h"
#include "utils/test_utils.h"

extern char** environ;

namespace marquee {
namespace {

using namespace std::chrono_literals;

unsigned short free_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

class child {
public:
    explicit child(std::vector<std::string> args) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    }
    ~child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            wait();
        }
    }
    bool started() const { return pid_ > 0; }
    void signal(int sig) { ::kill(pid_, sig); }
    int wait() {
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return status;
    }

private:
    pid_t pid_ = -1;
};

// Sum of every series of `metric` in the engine's /metrics; -1 if it is
// not answering (yet, or any more).
double scrape(unsigned short port, const std::string& metric) {
    try {
        auto r = testing::http_get(port, "/metrics");
        const std::regex line("(^|\\n)" + metric + R"((\{[^}]*\})? ([0-9.e+-]+))");
        double total = 0;
        for (std::sregex_iterator it(r.body.begin(), r.body.end(), line), end; it != end; ++it)
            total += std::stod((*it)[3]);
        return total;
    } catch (const std::exception&) {
        return -1;
    }
}

double applied(unsigned short port) { return scrape(port, "marquee_events_applied_total"); }

TEST(crash_recovery, a_killed_engine_resumes_without_losing_or_repeating_events) {
    stream::embedded_broker broker;
    broker.create_topic("marquee.events", 4);
    broker.create_topic("marquee.decisions", 4);
    broker.create_topic("marquee.events.dlq", 4);
    testing::temp_dir dir;
    const auto events = testing::synthetic_events(80, 500, 20000, 11);
    testing::produce_events(broker.bootstrap(), "marquee.events", events);

    auto args = [&](unsigned short port) {
        return std::vector<std::string>{MARQUEE_BINARY, "run", "--brokers", broker.bootstrap(), "--data-dir", dir.str(),
                                        "--port", std::to_string(port), "--set", "log.level=warn",
                                        "--set", "ingest.batch_max_messages=200",
                                        // The killed member holds its partitions until its session
                                        // times out; keep the wait short.
                                        "--set", "kafka.session.timeout.ms=6000",
                                        "--set", "kafka.heartbeat.interval.ms=500"};
    };
    const auto port1 = free_port();
    {
        child first(args(port1));
        ASSERT_TRUE(first.started());
        ASSERT_TRUE(testing::wait_until([&] { return applied(port1) >= 2000; }, 60s));
        first.signal(SIGKILL);  // no flush, no goodbye
        first.wait();
    }
    const auto port2 = free_port();
    {
        child second(args(port2));
        ASSERT_TRUE(second.started());
        // The second run only needs the rest; it may also have to wait for
        // the group to time out the killed member's session.
        ASSERT_TRUE(testing::wait_until([&] { return applied(port2) > 0; }, 90s));
        // Done when it owns every partition and has nothing left to read
        // (the killed member's partitions return only after its session
        // times out, so "applied stopped growing" alone is not enough).
        // A partition's lag is only known after its first fetch, so one
        // observation of "no lag" can come too early: require two, 1.5 s
        // apart (lag is refreshed every second), with nothing applied between.
        auto caught_up = [&] {
            return scrape(port2, "marquee_consumer_assigned_partitions") == 4 &&
                   scrape(port2, "marquee_consumer_lag_messages") == 0;
        };
        ASSERT_TRUE(testing::wait_until([&] {
            const double before = applied(port2);
            if (!caught_up()) return false;
            std::this_thread::sleep_for(1500ms);
            return caught_up() && applied(port2) == before;
        }, 90s)) << "applied " << applied(port2);
        second.signal(SIGTERM);
        int status = second.wait();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "graceful shutdown exits 0";
    }
    auto s = state::store::open({.path = dir.str()});
    ASSERT_TRUE(s) << s.error().message;
    for (const auto& [user, counts] : testing::count_by_user(events)) {
        auto u = s.value()->get_user(user);
        ASSERT_TRUE(u && u.value()) << user;
        EXPECT_EQ(u.value()->counts, counts) << user;
    }
}

}  // namespace
}  // namespace marquee
