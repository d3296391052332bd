// POST /v1/rank (rank_service) and POST /v1/rewards (rank decisions are
// rewarded in place; recommendation decisions become `reward` events on the
// events topic, which the ingest applies: one path for state).
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/hash.h"
#include "core/json_writer.h"
#include "events/event.h"
#include "serve/api_internal.h"
#include "serve/decision_id.h"

namespace marquee::serve {

namespace json = boost::json;

namespace {

// {name: number | string | [strings]} -> named features; "" or an error message.
std::string read_features(const json::value& v, std::string_view where, std::vector<bandits::named_feature>& out) {
    if (!v.is_object()) return std::string(where) + " must be an object of named features";
    for (const auto& [name, value] : v.as_object()) {
        if (name.empty() || name.size() > max_id_bytes)
            return std::string(where) + ": feature names must be 1 to " + std::to_string(max_id_bytes) + " bytes";
        bandits::named_feature f{std::string(name), 0.0};
        if (value.is_number()) {
            f.value = value.to_number<double>();
        } else if (value.is_string()) {
            f.value = std::string(value.as_string());
        } else if (value.is_array()) {
            std::vector<std::string> tags;
            for (const auto& tag : value.as_array()) {
                if (!tag.is_string())
                    return std::string(where) + "." + std::string(name) + ": a list feature holds strings only";
                tags.emplace_back(tag.as_string());
            }
            f.value = std::move(tags);
        } else {
            return std::string(where) + "." + std::string(name) +
                   ": a feature is a number, a string or a list of strings";
        }
        out.push_back(std::move(f));
    }
    return {};
}

// A string field of 1 to max_id_bytes bytes; "" or an error message.
std::string read_id(const json::object& body, std::string_view field, bool required, std::string& out) {
    auto it = body.find(field);
    if (it == body.end()) return required ? "missing required field '" + std::string(field) + "'" : "";
    if (!it->value().is_string() || it->value().as_string().empty() || it->value().as_string().size() > max_id_bytes)
        return "'" + std::string(field) + "' must be a string of 1 to " + std::to_string(max_id_bytes) + " bytes";
    out = std::string(it->value().as_string());
    return {};
}

}  // namespace

response api::impl::rank(const request& req) {
    auto parsed = json_body(req);
    if (auto* r = std::get_if<response>(&parsed)) return std::move(*r);
    const auto& body = std::get<json::object>(parsed);
    auto bad = [&](std::string message) {
        return json_error(http::status::bad_request, "invalid_body", message, req.version());
    };
    rank_request rq;
    for (const auto& [key, value] : body)
        if (key != "user_id" && key != "context" && key != "candidates" && key != "k" && key != "policy" &&
            key != "explore")
            return bad("unknown field '" + std::string(key) + "'");
    if (auto e = read_id(body, "user_id", false, rq.user_id); !e.empty()) return bad(e);
    if (auto it = body.find("context"); it != body.end())
        if (auto e = read_features(it->value(), "context", rq.context); !e.empty()) return bad(e);
    auto candidates = body.find("candidates");
    if (candidates == body.end()) return bad("missing required field 'candidates'");
    if (!candidates->value().is_array()) return bad("'candidates' must be an array");
    for (const auto& c : candidates->value().as_array()) {
        if (!c.is_object()) return bad("each candidate must be an object {\"id\", \"features\"}");
        rank_candidate rc;
        if (auto e = read_id(c.as_object(), "id", true, rc.id); !e.empty()) return bad("candidate: " + e);
        for (const auto& [key, value] : c.as_object())
            if (key != "id" && key != "features") return bad("candidate: unknown field '" + std::string(key) + "'");
        if (auto it = c.as_object().find("features"); it != c.as_object().end())
            if (auto e = read_features(it->value(), "candidate " + rc.id + " features", rc.features); !e.empty())
                return bad(e);
        rq.candidates.push_back(std::move(rc));
    }
    if (auto it = body.find("k"); it != body.end()) {
        // Clamped to a value the service rejects with its own message; read
        // by kind, since an integer above INT64_MAX is only a uint64.
        const auto& k = it->value();
        if (k.is_uint64()) rq.k = k.get_uint64() > 1'000'000 ? 1'000'000 : int(k.get_uint64());
        else if (k.is_int64()) rq.k = int(std::clamp<std::int64_t>(k.get_int64(), -1, 1'000'000));
        // An integer as JSON Schema reads one (as for an event's ts): 2.0 too.
        else if (k.is_double() && k.get_double() == std::floor(k.get_double()))
            rq.k = int(std::clamp(k.get_double(), -1.0, 1'000'000.0));
        else return bad("'k' must be an integer");
    }
    if (auto it = body.find("policy"); it != body.end()) {
        if (it->value().is_string()) rq.policy = bandits::parse_policy_kind(it->value().as_string());
        if (!rq.policy) return bad("'policy' must be one of " + bandits::policy_kind_names());
    }
    if (auto it = body.find("explore"); it != body.end()) {
        if (!it->value().is_number()) return bad("'explore' must be a number in [0, 1]");
        rq.epsilon = it->value().to_number<double>();
    }

    auto ranked = ranker->rank(rq, wall_clock_ms());
    if (!ranked) {
        if (ranked.error().reason == "invalid_parameter") return bad(ranked.error().message);
        spdlog::warn("http: rank: {}", ranked.error().message);
        return storage_unavailable(req);
    }
    const auto& r = ranked.value();
    std::string out = "{\"decision_id\":";
    core::append_json_string(out, r.decision_id);
    out += ",\"model_version\":" + std::to_string(r.model_version) + ",\"policy\":";
    core::append_json_string(out, to_string(r.policy));
    out += ",\"items\":";
    append_ranked_items_json(out, r.items);
    out += "}";
    return json_ok(std::move(out), req.version());
}

net::awaitable<response> api::impl::rewards(const request& req) {
    auto parsed = json_body(req);
    if (auto* r = std::get_if<response>(&parsed)) co_return std::move(*r);
    const auto& body = std::get<json::object>(parsed);
    auto bad = [&](std::string message) {
        return json_error(http::status::bad_request, "invalid_body", message, req.version());
    };
    for (const auto& [key, value] : body)
        if (key != "decision_id" && key != "item_id" && key != "reward")
            co_return bad("unknown field '" + std::string(key) + "'");
    std::string decision_id, item_id;
    if (auto e = read_id(body, "decision_id", true, decision_id); !e.empty()) co_return bad(e);
    if (auto e = read_id(body, "item_id", true, item_id); !e.empty()) co_return bad(e);
    auto it = body.find("reward");
    if (it == body.end()) co_return bad("missing required field 'reward'");
    if (!it->value().is_number()) co_return bad("'reward' must be a number in [0, 1]");
    const double value = it->value().to_number<double>();
    if (!(value >= 0.0 && value <= 1.0)) co_return bad("'reward' must be a number in [0, 1]");
    const std::int64_t now = wall_clock_ms();
    auto unavailable = [&](std::string_view what) {
        return json_error(http::status::service_unavailable, "unavailable", what, req.version());
    };
    auto ack = [&](std::string_view kind, std::string_view field, std::string_view value_text) {
        std::string out = "{\"decision_id\":";
        core::append_json_string(out, decision_id);
        out += ",\"item_id\":";
        core::append_json_string(out, item_id);
        out += ",\"kind\":";
        core::append_json_string(out, kind);
        out += ",\"";
        out += field;
        out += "\":";
        core::append_json_string(out, value_text);
        out += "}";
        return out;
    };

    auto outcome = ranker->reward(decision_id, item_id, value, now);
    if (!outcome) {
        spdlog::warn("http: rank reward: {}", outcome.error().message);
        co_return storage_unavailable(req);
    }
    switch (outcome.value()) {
    case reward_outcome::applied:
    case reward_outcome::duplicate:
    case reward_outcome::rejected:  // counted and logged by the service
        co_return json_ok(ack("rank", "outcome", to_string(outcome.value())), req.version());
    case reward_outcome::unknown_item:
        co_return json_error(http::status::not_found, "not_found",
                             "item '" + item_id + "' was not ranked in decision '" + decision_id + "'", req.version());
    case reward_outcome::wrong_user:  // only for rewards naming a user: the stream's
    case reward_outcome::unknown_decision: break;
    }

    // A recommendation decision: its reward travels the events topic.
    auto d = store.get_decision(decision_id);
    if (!d) {
        spdlog::warn("http: reading decision: {}", d.error().message);
        co_return storage_unavailable(req);
    }
    if (!d.value()) {
        // Served by another instance sharing the stream: only it holds the
        // decision's features, and the reward needs a user id to travel the
        // stream, which this body lacks.
        if (auto served_by = other_instance(decision_id, store.instance_tag())) {
            char tag[8];
            std::snprintf(tag, sizeof tag, "%04x", unsigned(*served_by));
            co_return json_error(http::status::misdirected_request, "other_instance",
                                 "decision '" + decision_id + "' was served by another Marquee instance (tag " + tag +
                                     "); send the reward to that instance, or as an event with user_id and "
                                     "decision_id on the events topic",
                                 req.version());
        }
        co_return json_error(http::status::not_found, "not_found", "unknown decision '" + decision_id + "'",
                             req.version());
    }
    bool shown = false;
    for (const auto& i : d.value()->items) shown = shown || i.item_id == item_id;
    if (!shown)
        co_return json_error(http::status::not_found, "not_found",
                             "item '" + item_id + "' was not served in decision '" + decision_id + "'", req.version());
    if (!links.events) co_return unavailable("no events topic to send the reward to");
    events::event e;
    e.type = events::event_type::reward;
    e.user_id = d.value()->user_id;
    e.item_id = item_id;
    e.ts_ms = now;
    e.value = value;
    e.decision_id = decision_id;
    // Derived from decision + item, so a retried POST is applied once.
    char id[40];
    std::snprintf(id, sizeof id, "reward-%016llx",
                  (unsigned long long)core::hash64(item_id, core::hash64(decision_id)));
    e.event_id = id;
    const std::string payload = events::encode_json(e);
    // Refused as POST /v1/events would refuse it (an ingest.max_event_bytes
    // below what the ids need): accepted, it would be dead-lettered.
    if (auto decoded = decode_event(payload); !decoded)
        co_return json_error(http::status::bad_request, "invalid_event",
                             "the reward event would be refused by the ingest: " +
                                 std::string(decoded.error().reason) + ": " + decoded.error().message,
                             req.version());
    // Answered once the reward is in Kafka: a 202 is never lost.
    if (auto r = co_await send_confirmed(*links.events, e.user_id, payload, options.events_confirm_timeout); !r) {
        spdlog::warn("http: producing reward: {}", r.error().message);
        co_return unavailable("the events topic did not confirm the reward (" + r.error().message +
                              "); send it again");
    }
    produced->Add({{"kind", "reward"}}).Increment();
    co_return json_ok(ack("recommendation", "status", "accepted"), req.version(), http::status::accepted);
}

}  // namespace marquee::serve
