#include "serve/api.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <random>
#include <thread>

#include "core/hash.h"
#include "core/json_writer.h"
#include "core/rng.h"
#include "serve/target.h"

namespace marquee::serve {

namespace http = boost::beast::http;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// 128 random bits as 32 hex digits, from a per-thread generator.
std::string new_decision_id() {
    thread_local core::splitmix64 rng(std::random_device{}() ^
                                      (std::uint64_t(std::hash<std::thread::id>{}(std::this_thread::get_id())) << 1) ^
                                      std::uint64_t(now_ms()));
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)rng(), (unsigned long long)rng());
    return std::string(buf, 32);
}

response json_ok(std::string body, unsigned version) {
    response res{http::status::ok, version};
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    return res;
}

}  // namespace

struct api::impl {
    api_options options;
    core::snapshot_cell<engine::model_snapshot>& snapshots;
    state::store& store;
    core::message_sink* decisions;
    prometheus::Registry& registry;
    std::function<bool()> ready;
    std::function<void()> before_scrape;

    prometheus::Family<prometheus::Counter>* requests;
    prometheus::Family<prometheus::Histogram>* latency;
    prometheus::Counter* served;
    prometheus::Family<prometheus::Counter>* items;
    prometheus::Counter* decision_log_errors;

    impl(api_options o, core::snapshot_cell<engine::model_snapshot>& s, state::store& st, core::message_sink* d,
         prometheus::Registry& r, std::function<bool()> rd)
        : options(std::move(o)), snapshots(s), store(st), decisions(d), registry(r), ready(std::move(rd)) {
        requests = &prometheus::BuildCounter()
                        .Name("marquee_http_requests_total")
                        .Help("HTTP requests answered, by route and status code")
                        .Register(registry);
        latency = &prometheus::BuildHistogram()
                       .Name("marquee_http_request_duration_seconds")
                       .Help("Time to compute an HTTP response (excluding network I/O), by route")
                       .Register(registry);
        served = &prometheus::BuildCounter()
                      .Name("marquee_recommendations_served_total")
                      .Help("Recommendation lists served, by policy")
                      .Register(registry)
                      .Add({{"policy", "linucb"}});
        items = &prometheus::BuildCounter()
                     .Name("marquee_recommended_items_total")
                     .Help("Items shown in served lists, by candidate source and whether they were explored")
                     .Register(registry);
        decision_log_errors = &prometheus::BuildCounter()
                                   .Name("marquee_decision_log_errors_total")
                                   .Help("Served decisions that could not be recorded (store or topic)")
                                   .Register(registry)
                                   .Add({});
    }

    prometheus::Histogram& latency_for(std::string_view route) {
        static const prometheus::Histogram::BucketBoundaries buckets{
            25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1.0};
        return latency->Add({{"route", std::string(route)}}, buckets);
    }

    response route(const request& req, const target& t, std::string_view& route_label) {
        const auto& segs = t.segments;
        const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
        auto method_not_allowed = [&] {
            auto res = json_error(http::status::method_not_allowed, "method_not_allowed",
                                  "only GET is supported on this route", req.version());
            res.set(http::field::allow, "GET, HEAD");
            return res;
        };
        if (segs.size() == 1 && segs[0] == "healthz") {
            route_label = "/healthz";
            if (!get) return method_not_allowed();
            return json_ok("{\"status\":\"ok\"}", req.version());
        }
        if (segs.size() == 1 && segs[0] == "readyz") {
            route_label = "/readyz";
            if (!get) return method_not_allowed();
            if (ready && !ready())
                return json_error(http::status::service_unavailable, "not_ready",
                                  "no partitions assigned yet or state not loaded", req.version());
            return json_ok("{\"status\":\"ready\"}", req.version());
        }
        if (segs.size() == 1 && segs[0] == "metrics") {
            route_label = "/metrics";
            if (!get) return method_not_allowed();
            if (before_scrape) before_scrape();
            response res{http::status::ok, req.version()};
            res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            res.body() = prometheus::TextSerializer().Serialize(registry.Collect());
            return res;
        }
        if (segs.size() == 4 && segs[0] == "v1" && segs[1] == "users" && segs[3] == "recommendations") {
            route_label = "/v1/users/{user_id}/recommendations";
            if (!get) return method_not_allowed();
            return recommendations(req, t);
        }
        route_label = "unmatched";
        return json_error(http::status::not_found, "not_found", "no route for " + std::string(t.path), req.version());
    }

    response recommendations(const request& req, const target& t) {
        const std::string& user_id = t.segments[2];
        if (user_id.empty() || user_id.size() > 256)
            return json_error(http::status::bad_request, "invalid_parameter",
                              "user_id must be 1 to 256 bytes", req.version());
        int k = options.default_k;
        if (auto raw = t.query("k")) {
            auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), k);
            if (ec != std::errc() || end != raw->data() + raw->size() || k < 1 || k > options.max_k)
                return json_error(http::status::bad_request, "invalid_parameter",
                                  "k must be an integer from 1 to " + std::to_string(options.max_k), req.version());
        }
        std::string device = t.query("device").value_or("");

        auto snapshot = snapshots.load();
        if (!snapshot)
            return json_error(http::status::service_unavailable, "not_ready", "model not loaded yet", req.version());
        auto user = store.get_user(user_id);
        if (!user) {
            spdlog::error("http: reading user: {}", user.error().message);
            return json_error(http::status::service_unavailable, "storage", "state store unavailable", req.version());
        }
        const engine::user_state* u = user.value() ? &*user.value() : nullptr;

        const std::string decision_id = new_decision_id();
        engine::recommend_request rq{user_id, k, device, core::hash64(decision_id, options.exploration_seed)};
        auto list = engine::recommend(*snapshot, u, rq, options.recommend);
        const std::int64_t ts = now_ms();

        // Record the decision before answering, so a reward can always find it.
        if (!list.items.empty()) {
            if (auto r = store.put_decision(decision_id, engine::to_pending(list, user_id, ts)); !r) {
                decision_log_errors->Increment();
                spdlog::warn("http: recording decision: {}", r.error().message);
            }
        }
        std::string items_json;
        for (const auto& item : list.items) {
            if (!items_json.empty()) items_json += ",";
            items_json += "{\"item_id\":";
            core::append_json_string(items_json, item.item_id);
            if (!item.title.empty()) {
                items_json += ",\"title\":";
                core::append_json_string(items_json, item.title);
            }
            items_json += ",\"score\":";
            core::append_json_number(items_json, item.score);
            items_json += ",\"propensity\":";
            core::append_json_number(items_json, item.propensity);
            items_json += item.explored ? ",\"explored\":true" : ",\"explored\":false";
            items_json += ",\"reason\":";
            core::append_json_string(items_json, item.reason);
            items_json += "}";
            // The source, not the reason: reasons carry item ids (unbounded labels).
            this->items->Add({{"reason", std::string(item.source)}, {"explored", item.explored ? "true" : "false"}})
                .Increment();
        }
        std::string head = "{\"decision_id\":";
        core::append_json_string(head, decision_id);
        head += ",\"user_id\":";
        core::append_json_string(head, user_id);
        head += ",\"policy\":\"linucb\",\"model_version\":";
        core::append_json_number(head, std::int64_t(list.model_version));
        head += list.cold_start ? ",\"cold_start\":true" : ",\"cold_start\":false";

        if (decisions && !list.items.empty()) {
            std::string log = head + ",\"ts\":" + std::to_string(ts) +
                              ",\"feature_map_version\":" + std::to_string(bandits::feature_map_version) +
                              ",\"items\":[" + items_json + "]}";
            if (auto r = decisions->send(user_id, log); !r) decision_log_errors->Increment();
        }
        served->Increment();
        return json_ok(head + ",\"items\":[" + items_json + "]}", req.version());
    }
};

api::api(api_options options, core::snapshot_cell<engine::model_snapshot>& snapshots, state::store& store,
         core::message_sink* decisions, prometheus::Registry& registry, std::function<bool()> ready,
         std::function<void()> before_scrape)
    : impl_(std::make_unique<impl>(std::move(options), snapshots, store, decisions, registry, std::move(ready))) {
    impl_->before_scrape = std::move(before_scrape);
}

api::~api() = default;

response api::handle(request&& req) {
    const auto started = std::chrono::steady_clock::now();
    std::string_view route_label = "unmatched";
    response res;
    auto t = parse_target(req.target());
    if (!t) {
        res = json_error(http::status::bad_request, "bad_request", t.error().message, req.version());
    } else {
        res = impl_->route(req, t.value(), route_label);
    }
    if (req.method() == http::verb::head) res.body().clear();
    impl_->requests->Add({{"route", std::string(route_label)}, {"code", std::to_string(res.result_int())}})
        .Increment();
    impl_->latency_for(route_label)
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return res;
}

}  // namespace marquee::serve
