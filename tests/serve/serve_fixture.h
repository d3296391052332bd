// A running API over a real loopback socket and a real RocksDB store: 60
// items (m0..m29 "Drama", liked by "fan"; m30..m58 "Comedy", liked by
// "other" 100 days later; m59 unavailable), sinks that capture what the api
// sends to the decisions and events topics.
#pragma once

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <mutex>
#include <string>
#include <vector>

#include "engine/learner.h"
#include "serve/api.h"
#include "serve/http_server.h"
#include "utils/test_utils.h"

namespace marquee::serve {

struct capture_sink : core::message_sink {
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> messages;
    core::result<void> send(std::string_view key, std::string_view value) override {
        std::lock_guard lock(mutex);
        messages.emplace_back(key, value);
        return core::success();
    }
    std::vector<std::pair<std::string, std::string>> all() {
        std::lock_guard lock(mutex);
        return messages;
    }
};

// One request through `a` without a socket, for an api other than the
// fixture's served one.
inline response handle_now(api& a, request req) {
    boost::asio::io_context ioc;
    auto answer = boost::asio::co_spawn(ioc, a.handle(std::move(req)), boost::asio::use_future);
    ioc.run();
    return answer.get();
}

class http_api : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = state::store::open({.path = dir.str()});
        ASSERT_TRUE(s);
        store = std::move(s).value();
        engine::model_options mo;
        mo.mf.dim = 8;
        model = std::make_unique<engine::model>(mo);
        engine::learner l(*model);
        engine::touched t;
        engine::user_state fan;
        events::event e;
        e.type = events::event_type::like;
        e.user_id = "fan";
        for (int i = 0; i < 30; ++i) {
            e.item_id = "m" + std::to_string(i);
            e.ts_ms = 1000 + i;
            l.apply(e, fan, nullptr, t);
        }
        // Someone else's taste, 100 days later: m30..m59 are new releases,
        // m0..m29 are old (and seen by the fan).
        engine::user_state other;
        e.user_id = "other";
        for (int i = 30; i < 60; ++i) {
            e.item_id = "m" + std::to_string(i);
            e.ts_ms = 100LL * 86'400'000 + i;
            l.apply(e, other, nullptr, t);
        }
        for (int i = 0; i < 60; ++i) {
            events::catalog_item c;
            c.item_id = "m" + std::to_string(i);
            c.title = "Movie " + std::to_string(i);
            c.genres = {i < 30 ? "Drama" : "Comedy"};
            c.available = i != 59;
            model->apply_catalog(c);
        }
        auto w = store->begin();
        w.put_user("fan", fan);
        w.put_user("other", other);
        ASSERT_TRUE(store->commit(w));
        snapshots.store(engine::take_snapshot(*model, {}, nullptr));

        api_ = std::make_unique<api>(api_options{}, snapshots, *store, api_links{&sink, &events_sink, nullptr},
                                     registry, [] { return true; });
        http_options ho;
        ho.port = 0;
        ho.threads = 2;
        ho.body_limit = 16 * 1024;
        ho.header_limit = 2048;
        server = std::make_unique<http_server>(
            ho, [this](request&& r) { return api_->handle(std::move(r)); },
            [this](unsigned status) { api_->count_server_response(status); });
        server->start();
        port = server->port();
    }

    // As engine_host does: the I/O threads stop, then the api (its decision
    // writer may still be posting a completion to their io_context, which
    // must outlive that), then the server.
    void TearDown() override {
        server->stop();
        api_.reset();
        server.reset();
    }

    void expect_json_error(testing::http_reply r, int status, const std::string& code) {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_EQ(r.headers["Content-Type"], "application/json");
        EXPECT_NE(r.body.find("\"error\":{\"code\":\"" + code + "\""), std::string::npos) << r.body;
        EXPECT_NE(r.body.find("\"message\":"), std::string::npos) << r.body;
    }

    testing::temp_dir dir;
    std::unique_ptr<state::store> store;
    std::unique_ptr<engine::model> model;
    core::snapshot_cell<engine::model_snapshot> snapshots;
    prometheus::Registry registry;
    capture_sink sink;
    capture_sink events_sink;
    std::unique_ptr<api> api_;
    std::unique_ptr<http_server> server;
    unsigned short port = 0;
};

using testing::json_field;

}  // namespace marquee::serve
