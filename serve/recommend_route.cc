// GET /v1/users/{user_id}/recommendations and GET /v1/users/{user_id}.
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/hash.h"
#include "core/json_writer.h"
#include "core/utf8.h"
#include "serve/api_internal.h"
#include "serve/decision_id.h"

namespace marquee::serve {

namespace {

// Recent items shown by GET /v1/users/{user_id}.
constexpr std::size_t summary_recent_n = 20;

bool parse_double(std::string_view raw, double& out) {
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), out);
    return ec == std::errc() && end == raw.data() + raw.size() && std::isfinite(out);
}

// The 400 for a user id outside 1 to max_id_bytes bytes or not UTF-8 (it is
// echoed in JSON and keys the decision, whose reward event must decode), if
// it is one.
std::optional<response> reject_user_id(const request& req, const std::string& user_id) {
    if (!user_id.empty() && user_id.size() <= max_id_bytes && core::valid_utf8(user_id)) return std::nullopt;
    return json_error(http::status::bad_request, "invalid_parameter",
                      "user_id must be 1 to " + std::to_string(max_id_bytes) + " bytes of UTF-8", req.version());
}

}  // namespace

net::awaitable<response> api::impl::recommendations(const request& req, const target& t) {
    auto bad = [&](std::string message) {
        return json_error(http::status::bad_request, "invalid_parameter", message, req.version());
    };
    const std::string& user_id = t.segments[2];
    if (auto rejected = reject_user_id(req, user_id)) co_return std::move(*rejected);
    const auto parsed_k = query_k(req, t);
    if (auto* r = std::get_if<response>(&parsed_k)) co_return std::move(*r);
    const int k = std::get<int>(parsed_k);
    std::string device = t.query("device").value_or("");
    std::optional<bandits::policy_kind> policy;
    if (auto raw = t.query("policy")) {
        policy = bandits::parse_policy_kind(*raw);
        if (!policy) co_return bad("policy must be one of " + bandits::policy_kind_names());
    }
    std::optional<double> epsilon;
    if (auto raw = t.query("explore")) {
        double e = 0;
        if (!parse_double(*raw, e) || e < 0.0 || e > 1.0) co_return bad("explore must be a number in [0, 1]");
        epsilon = e;
    }
    std::vector<std::string> exclude, genres;
    if (auto list = t.query_list("exclude")) {
        exclude = std::move(*list);
        if (exclude.size() > std::size_t(options.max_exclude))
            co_return bad("exclude takes at most " + std::to_string(options.max_exclude) + " item ids");
        for (const auto& id : exclude)
            if (id.size() > max_id_bytes || !core::valid_utf8(id))
                co_return bad("excluded item ids must be at most " + std::to_string(max_id_bytes) +
                              " bytes of UTF-8");
    }
    if (auto list = t.query_list("genres")) {
        genres = std::move(*list);
        if (genres.size() > std::size_t(options.max_exclude))
            co_return bad("genres takes at most " + std::to_string(options.max_exclude) + " names");
        for (const auto& g : genres)
            if (!core::valid_utf8(g)) co_return bad("genres must be UTF-8");
    }

    auto snapshot = snapshots.load();
    if (!snapshot)
        co_return json_error(http::status::service_unavailable, "not_ready", "model not loaded yet", req.version());
    if (!genres.empty() && (!snapshot->index || !snapshot->index->genre_filter_of(genres))) {
        std::string known;
        if (snapshot->index)
            for (const auto& g : snapshot->index->genre_names) known += (known.empty() ? "" : ", ") + g;
        co_return bad("unknown genre in genres; the catalog knows: " + (known.empty() ? std::string("(none)") : known));
    }
    auto user = store.get_user(user_id);
    if (!user) {
        spdlog::error("http: reading user: {}", user.error().message);
        co_return storage_unavailable(req);
    }
    const engine::user_state* u = user.value() ? &*user.value() : nullptr;

    const std::string decision_id = new_decision_id(store.instance_tag());
    const std::int64_t ts = wall_clock_ms();
    engine::recommend_request rq;
    rq.user_id = user_id;
    rq.k = k;
    rq.device = device;
    rq.seed = core::hash64(decision_id, options.exploration_seed);
    rq.now_ms = ts;
    rq.policy = policy;
    rq.epsilon = epsilon;
    rq.exclude = exclude;
    rq.genres = genres;
    auto list = engine::recommend(*snapshot, u, rq, options.recommend, &exposure);
    const std::string policy_name(to_string(list.policy));
    const auto policy_index = std::size_t(list.policy);

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
        if (item.forced) items_json += ",\"forced\":true";
        items_json += ",\"reason\":";
        core::append_json_string(items_json, item.reason);
        items_json += "}";
    }
    std::string head = "{\"decision_id\":";
    core::append_json_string(head, decision_id);
    head += ",\"user_id\":";
    core::append_json_string(head, user_id);
    head += ",\"policy\":";
    core::append_json_string(head, policy_name);
    head += ",\"model_version\":";
    core::append_json_number(head, std::int64_t(list.model_version));
    head += list.cold_start ? ",\"cold_start\":true" : ",\"cold_start\":false";

    // Record the decision before answering, so a reward can always find it.
    // Not recorded, the list is not served: its decision_id would be a 404
    // to every reward (the writer counts and logs the failure).
    if (!list.items.empty()) {
        std::string log;
        if (links.decisions)
            log = head + ",\"ts\":" + std::to_string(ts) +
                  ",\"feature_map_version\":" + std::to_string(bandits::feature_map_version) + ",\"items\":[" +
                  items_json + "]}";
        const auto written = co_await writer.async_put(decision_id, engine::to_pending(list, user_id, ts),
                                                       std::move(log), net::use_awaitable);
        if (!written)
            co_return json_error(http::status::service_unavailable, "storage",
                                 "the decision could not be recorded; retry", req.version());
    }
    // Only a served list counts as shown, for the metrics and the exposure floor.
    exposure.record(list.new_release_rows, ts);
    for (const auto& item : list.items) {
        // The source, not the reason: reasons carry item ids (unbounded labels).
        const auto source = std::find(engine::candidate_sources.begin(), engine::candidate_sources.end(), item.source);
        if (source != engine::candidate_sources.end())
            items_shown[policy_index][std::size_t(source - engine::candidate_sources.begin())][item.explored]->Increment();
        if (item.new_release) new_releases_shown[policy_index][item.forced]->Increment();
    }
    served_lists[policy_index]->Increment();
    co_return json_ok(head + ",\"items\":[" + items_json + "]}", req.version());
}

response api::impl::user_summary(const request& req, const target& t) {
    const std::string& user_id = t.segments[2];
    if (auto rejected = reject_user_id(req, user_id)) return std::move(*rejected);
    auto user = store.get_user(user_id);
    if (!user) {
        spdlog::error("http: reading user: {}", user.error().message);
        return storage_unavailable(req);
    }
    if (!user.value())
        return json_error(http::status::not_found, "not_found", "unknown user '" + user_id + "'", req.version());
    const auto& u = *user.value();
    std::string body = "{\"user_id\":";
    core::append_json_string(body, user_id);
    body += ",\"events\":" + std::to_string(u.events) + ",\"counts\":{";
    for (std::size_t i = 0; i < events::event_type_count; ++i) {
        if (i) body += ",";
        core::append_json_string(body, events::event_type_names[i]);
        body += ":" + std::to_string(u.counts[i]);
    }
    body += "},\"last_ts\":" + std::to_string(u.last_ts_ms) + ",\"recent\":[";
    const std::size_t n = std::min(u.recent.size(), summary_recent_n);
    for (std::size_t i = 0; i < n; ++i) {
        if (i) body += ",";
        core::append_json_string(body, u.recent[u.recent.size() - 1 - i]);  // latest first
    }
    body += "],\"recent_liked\":[";
    for (std::size_t i = 0; i < n; ++i) {
        if (i) body += ",";
        body += u.positive_at(u.recent.size() - 1 - i) ? "true" : "false";
    }
    double norm = 0.0;
    for (float v : u.embedding) norm += double(v) * double(v);
    body += "],\"recent_total\":" + std::to_string(u.recent.size()) + ",\"embedding_norm\":";
    core::append_json_number(body, std::sqrt(norm));
    body += u.embedding.empty() ? ",\"cold_start\":true}" : ",\"cold_start\":false}";
    return json_ok(std::move(body), req.version());
}

}  // namespace marquee::serve
