#include "serve/api.h"

#include <boost/json/parse.hpp>
#include <prometheus/text_serializer.h>

#include <array>
#include <charconv>
#include <chrono>

#include "core/utf8.h"
#include "serve/api_internal.h"

namespace marquee::serve {

namespace {

constexpr std::array<route_info, 9> route_table = {{
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/metrics"},
    {"GET", "/v1/users/{user_id}/recommendations"},
    {"GET", "/v1/users/{user_id}"},
    {"GET", "/v1/items/{item_id}/similar"},
    {"POST", "/v1/rank"},
    {"POST", "/v1/rewards"},
    {"POST", "/v1/events"},
}};

}  // namespace

response json_ok(std::string body, unsigned version, http::status status) {
    response res{status, version};
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    return res;
}

response storage_unavailable(const request& req) {
    return json_error(http::status::service_unavailable, "storage", "state store unavailable", req.version());
}

std::optional<response> reject_non_json(const request& req) {
    auto type = req[http::field::content_type];
    if (!type.empty()) {
        auto media = type.substr(0, type.find(';'));
        while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
        bool json = media.size() == 16 && std::equal(media.begin(), media.end(), "application/json", [](char a, char b) {
                        return std::tolower(static_cast<unsigned char>(a)) == b;
                    });
        if (!json)
            return json_error(http::status::unsupported_media_type, "unsupported_media_type",
                              "the body must be JSON (Content-Type: application/json)", req.version());
    }
    return std::nullopt;
}

std::variant<int, response> api::impl::query_k(const request& req, const target& t) const {
    int k = options.default_k;
    if (auto raw = t.query("k")) {
        auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), k);
        if (ec != std::errc() || end != raw->data() + raw->size() || k < 1 || k > options.max_k)
            return json_error(http::status::bad_request, "invalid_parameter",
                              "k must be an integer from 1 to " + std::to_string(options.max_k), req.version());
    }
    return k;
}

std::variant<boost::json::object, response> json_body(const request& req) {
    if (auto rejected = reject_non_json(req)) return std::move(*rejected);
    if (req.body().empty())
        return json_error(http::status::bad_request, "invalid_body", "the request needs a JSON object body",
                          req.version());
    boost::system::error_code ec;
    auto value = boost::json::parse(req.body(), ec);
    if (ec)
        return json_error(http::status::bad_request, "invalid_body", "malformed JSON: " + ec.message(),
                          req.version());
    if (!value.is_object())
        return json_error(http::status::bad_request, "invalid_body", "the body must be a JSON object",
                          req.version());
    return std::move(value.as_object());
}

api::impl::impl(api_options o, core::snapshot_cell<engine::model_snapshot>& s, state::store& st, api_links l,
                prometheus::Registry& r, std::function<bool()> rd)
    : options(std::move(o)),
      snapshots(s),
      store(st),
      links(l),
      registry(r),
      ready(std::move(rd)),
      writer(st, r, l.decisions) {
    requests = &prometheus::BuildCounter()
                    .Name("marquee_http_requests_total")
                    .Help("HTTP requests answered, by route and status code")
                    .Register(registry);
    auto& latency = prometheus::BuildHistogram()
                        .Name("marquee_http_request_duration_seconds")
                        .Help("Time to compute an HTTP response (excluding network I/O), by route")
                        .Register(registry);
    auto& served = prometheus::BuildCounter()
                       .Name("marquee_recommendations_served_total")
                       .Help("Recommendation lists served, by policy")
                       .Register(registry);
    auto& items = prometheus::BuildCounter()
                      .Name("marquee_recommended_items_total")
                      .Help("Items shown in served lists, by policy, candidate source and whether they were explored")
                      .Register(registry);
    auto& new_release_impressions = prometheus::BuildCounter()
                                        .Name("marquee_new_release_impressions_total")
                                        .Help("New releases shown, by policy and whether the exposure floor forced them in")
                                        .Register(registry);
    for (std::size_t p = 0; p < bandits::all_policy_kinds.size(); ++p) {
        const std::string policy(to_string(bandits::all_policy_kinds[p]));
        served_lists[p] = &served.Add({{"policy", policy}});
        for (std::size_t forced = 0; forced < 2; ++forced)
            new_releases_shown[p][forced] =
                &new_release_impressions.Add({{"policy", policy}, {"forced", forced ? "true" : "false"}});
        for (std::size_t src = 0; src < engine::candidate_sources.size(); ++src)
            for (std::size_t explored = 0; explored < 2; ++explored)
                items_shown[p][src][explored] = &items.Add({{"policy", policy},
                                                             {"reason", std::string(engine::candidate_sources[src])},
                                                             {"explored", explored ? "true" : "false"}});
    }
    produced = &prometheus::BuildCounter()
                    .Name("marquee_http_events_produced_total")
                    .Help("Events the HTTP API produced to the events topic, by kind (event, reward)")
                    .Register(registry);
    produced->Add({{"kind", "event"}});
    produced->Add({{"kind", "reward"}});
    const prometheus::Histogram::BucketBoundaries buckets{
        25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1.0};
    auto add_route = [&](std::string_view route) {
        by_route.push_back({route, &latency.Add({{"route", std::string(route)}}, buckets),
                            &requests->Add({{"route", std::string(route)}, {"code", "200"}})});
    };
    for (const auto& r : route_table) add_route(r.path);
    add_route("unmatched");
    if (links.rank) {
        ranker = links.rank;
    } else {
        own_rank = std::make_unique<rank_service>(options.rank, store, &snapshots, links.decisions, registry);
        ranker = own_rank.get();
    }
}

const api::impl::route_series& api::impl::series_for(std::string_view route) const {
    for (const auto& s : by_route)
        if (s.route == route) return s;
    return by_route.back();  // "unmatched"
}

net::awaitable<response> api::impl::route(const request& req, const target& t, std::string_view& route_label) {
    const auto& segs = t.segments;
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
    const bool post = req.method() == http::verb::post;
    // `allow`: "GET, HEAD", "GET" or "POST".
    auto method_not_allowed = [&](std::string_view allow) {
        auto res = json_error(http::status::method_not_allowed, "method_not_allowed",
                              "only " + std::string(allow) + " on this route", req.version());
        res.set(http::field::allow, allow);
        return res;
    };
    if (segs.size() == 1 && segs[0] == "healthz") {
        route_label = "/healthz";
        if (!get) co_return method_not_allowed("GET, HEAD");
        co_return json_ok("{\"status\":\"ok\"}", req.version());
    }
    if (segs.size() == 1 && segs[0] == "readyz") {
        route_label = "/readyz";
        if (!get) co_return method_not_allowed("GET, HEAD");
        if (ready && !ready())
            co_return json_error(http::status::service_unavailable, "not_ready",
                                 "no partitions assigned yet, the consumer more than ingest.ready_max_lag messages behind, or a "
                                 "Kafka producer failed fatally (logged)", req.version());
        co_return json_ok("{\"status\":\"ready\"}", req.version());
    }
    if (segs.size() == 1 && segs[0] == "metrics") {
        route_label = "/metrics";
        if (!get) co_return method_not_allowed("GET, HEAD");
        if (before_scrape) before_scrape();
        response res{http::status::ok, req.version()};
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = prometheus::TextSerializer().Serialize(registry.Collect());
        co_return res;
    }
    if (segs.size() >= 2 && segs[0] == "v1") {
        if (segs.size() == 4 && segs[1] == "users" && segs[3] == "recommendations") {
            route_label = "/v1/users/{user_id}/recommendations";
            // Not HEAD: serving a list records a decision and counts its
            // impressions, which a monitoring probe must not do.
            if (req.method() != http::verb::get) co_return method_not_allowed("GET");
            co_return co_await recommendations(req, t);
        }
        if (segs.size() == 3 && segs[1] == "users") {
            route_label = "/v1/users/{user_id}";
            if (!get) co_return method_not_allowed("GET, HEAD");
            co_return user_summary(req, t);
        }
        if (segs.size() == 4 && segs[1] == "items" && segs[3] == "similar") {
            route_label = "/v1/items/{item_id}/similar";
            if (!get) co_return method_not_allowed("GET, HEAD");
            co_return similar(req, t);
        }
        if (segs.size() == 2 && (segs[1] == "rank" || segs[1] == "rewards" || segs[1] == "events")) {
            route_label = segs[1] == "rank" ? "/v1/rank" : segs[1] == "rewards" ? "/v1/rewards" : "/v1/events";
            if (!post) co_return method_not_allowed("POST");
            if (segs[1] == "rank") co_return rank(req);
            if (segs[1] == "rewards") co_return co_await rewards(req);
            co_return co_await post_event(req);
        }
    }
    route_label = "unmatched";
    // Beast lets raw bytes above 0x7F through in a target: echo only UTF-8.
    co_return json_error(http::status::not_found, "not_found",
                         "no route for " + (core::valid_utf8(t.path) ? t.path : std::string("this path (not UTF-8)")),
                         req.version());
}

api::api(api_options options, core::snapshot_cell<engine::model_snapshot>& snapshots, state::store& store,
         api_links links, prometheus::Registry& registry, std::function<bool()> ready,
         std::function<void()> before_scrape)
    : impl_(std::make_unique<impl>(std::move(options), snapshots, store, links, registry, std::move(ready))) {
    impl_->before_scrape = std::move(before_scrape);
}

api::~api() = default;

void api::count_server_response(unsigned status) {
    impl_->requests->Add({{"route", "unmatched"}, {"code", std::to_string(status)}}).Increment();
}

std::span<const route_info> api::routes() { return route_table; }

net::awaitable<response> api::handle(request req) {
    const auto started = std::chrono::steady_clock::now();
    std::string_view route_label = "unmatched";
    response res;
    auto t = parse_target(req.target());
    if (!t) {
        res = json_error(http::status::bad_request, "bad_request", t.error().message, req.version());
    } else {
        res = co_await impl_->route(req, t.value(), route_label);
    }
    const auto& series = impl_->series_for(route_label);
    if (res.result() == http::status::ok)
        series.ok->Increment();
    else
        impl_->requests->Add({{"route", std::string(series.route)}, {"code", std::to_string(res.result_int())}})
            .Increment();
    series.latency->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    co_return res;
}

}  // namespace marquee::serve
