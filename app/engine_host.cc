#include "app/engine_host.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "app/runtime_metrics.h"
#include "app/settings_metrics.h"
#include "core/snapshot_cell.h"
#include "serve/api.h"
#include "serve/http_server.h"
#include "serve/rank_service.h"
#include "state/store.h"
#include "stream/dead_letter_producer.h"
#include "stream/embedded_broker.h"
#include "stream/ingest_loop.h"
#include "stream/kafka_producer.h"
#include "stream/topic_sink.h"

#ifndef MARQUEE_VERSION
#define MARQUEE_VERSION "dev"
#endif
#ifndef MARQUEE_COMMIT
#define MARQUEE_COMMIT "unknown"
#endif

namespace marquee::app {

struct engine_host::impl {
    config cfg;
    prometheus::Registry registry;
    std::unique_ptr<stream::embedded_broker> broker;
    std::unique_ptr<state::store> store;
    std::unique_ptr<engine::model> model;
    core::snapshot_cell<engine::model_snapshot> snapshots;
    std::unique_ptr<stream::ingest_probe> probe;
    std::unique_ptr<stream::kafka_producer> producer;      // events and rewards posted over HTTP
    std::unique_ptr<stream::kafka_producer> log_producer;  // the decision log: bulk, batched longer
    // Dead letters alone: ingest's confirm() flushes it before committing a
    // batch, and a flush waits for every message of its producer; shared
    // with HTTP posts, steady traffic kept it from ever emptying and the
    // 30 s confirm timeout stopped ingest.
    std::unique_ptr<stream::kafka_producer> dlq_producer;
    std::unique_ptr<stream::dead_letter_producer> dlq;
    std::unique_ptr<stream::topic_sink> decisions;
    std::unique_ptr<stream::topic_sink> events;  // POST /v1/events and recommendation rewards
    std::unique_ptr<serve::rank_service> rank;
    std::unique_ptr<stream::batch_applier> applier;
    std::unique_ptr<stream::ingest_loop> ingest;
    std::unique_ptr<runtime_metrics> runtime;
    std::unique_ptr<serve::api> api;
    std::unique_ptr<serve::http_server> http;
    std::thread ingest_thread;
    std::atomic<bool> stopping{false};
    mutable std::mutex mutex;
    bool done = false;
    bool ok = true;
    std::uint64_t loaded_version = 0;

    bool ready() const {
        for (const auto* p : {producer.get(), log_producer.get(), dlq_producer.get()})
            if (p && !p->fatal_error().empty()) return false;
        return ingest && ingest->ready();
    }
};

engine_host::engine_host(config c) : impl_(std::make_unique<impl>()) {
    auto& i = *impl_;
    i.cfg = std::move(c);
    prometheus::BuildGauge()
        .Name("marquee_build_info")
        .Help("Marquee build; always 1")
        .Register(i.registry)
        .Add({{"version", MARQUEE_VERSION}, {"commit", MARQUEE_COMMIT}})
        .Set(1);

    if (i.cfg.kafka.brokers.empty()) {
        i.broker = std::make_unique<stream::embedded_broker>();
        for (const auto& topic : {i.cfg.kafka.events_topic, i.cfg.kafka.items_topic, i.cfg.kafka.decisions_topic,
                                  i.cfg.kafka.dlq_topic})
            if (!topic.empty()) i.broker->create_topic(topic, i.cfg.kafka.embedded_partitions);
        i.cfg.kafka.brokers = i.broker->bootstrap();
        // The mock broker holds an empty fetch for the whole fetch.wait.max.ms
        // (librdkafka default 500 ms) instead of answering when data arrives,
        // which would put half a second between an event and serving.
        i.cfg.kafka.consumer_defaults["fetch.wait.max.ms"] = "5";
        spdlog::info("embedded Kafka broker listening at {}", i.cfg.kafka.brokers);
    }

    auto opened = state::store::open(i.cfg.state);
    if (!opened) throw std::runtime_error("opening state at " + i.cfg.state.path + ": " + opened.error().message);
    i.store = std::move(opened).value();
    if (i.broker) {
        // Ingest drops stored offsets of any other cluster, which is right for
        // a previous embedded broker's but not for a real cluster's: a start
        // that only forgot --brokers would cost them.
        auto stored = i.store->cluster_id();
        if (!stored) throw std::runtime_error("reading the stored cluster id: " + stored.error().message);
        if (!stored.value().empty() && !stream::embedded_broker::made(stored.value()))
            throw std::runtime_error("the data dir " + i.cfg.state.path + " holds offsets of Kafka cluster " +
                                     stored.value() +
                                     "; with no kafka.bootstrap.servers set an embedded broker would start and they "
                                     "would be dropped. Give that cluster's --brokers (kafka.bootstrap.servers, "
                                     "MARQUEE_BROKERS), or another --data-dir");
    }
    i.model = std::make_unique<engine::model>(i.cfg.model);
    if (auto loaded = i.store->load_model(*i.model); !loaded) {
        // An upgrade that changed the bandit's features: items, users and
        // offsets carry over, the bandit relearns from its prior.
        if (loaded.error().reason != "feature_map_changed")
            throw std::runtime_error("loading model from " + i.cfg.state.path + ": " + loaded.error().message);
        spdlog::warn("state: {}; the bandit starts again from its prior", loaded.error().message);
    }
    i.loaded_version = i.model->version();
    spdlog::info("state loaded from {}: {} items, model version {}", i.cfg.state.path, i.model->items().size(),
                 i.model->version());

    i.probe = std::make_unique<stream::ingest_probe>(i.registry);
    i.producer = std::make_unique<stream::kafka_producer>(i.cfg.kafka, i.registry);
    if (!i.cfg.kafka.dlq_topic.empty()) {
        i.dlq_producer = std::make_unique<stream::kafka_producer>(i.cfg.kafka, i.registry);
        i.dlq = std::make_unique<stream::dead_letter_producer>(*i.dlq_producer, i.cfg.kafka.dlq_topic);
    }
    i.log_producer = std::make_unique<stream::kafka_producer>(i.cfg.kafka, i.registry, "decision_log");
    i.decisions = std::make_unique<stream::topic_sink>(*i.log_producer, i.cfg.kafka.decisions_topic);
    i.cfg.applier.items_topic = i.cfg.kafka.items_topic;
    // The snapshot's fixed lists feed retrieval.*: at least twice what a
    // request takes, as some of them are excluded or already seen.
    auto& lists = i.cfg.applier.snapshot;
    const auto& wanted = i.cfg.api.recommend;
    lists.popular_n = std::max(lists.popular_n, 2 * wanted.popular_n);
    lists.new_release_n = std::max(lists.new_release_n, 2 * wanted.new_release_n);
    lists.covisit_n = std::max(lists.covisit_n, wanted.covisit_n);
    i.applier = std::make_unique<stream::batch_applier>(*i.store, *i.model, i.snapshots, i.dlq.get(), *i.probe,
                                                        i.cfg.applier);
    i.applier->publish(true);
    i.ingest = std::make_unique<stream::ingest_loop>(i.cfg.kafka, i.cfg.ingest, *i.store, *i.applier, *i.probe);

    i.runtime = std::make_unique<runtime_metrics>(i.registry, *i.store);
    // One age cutoff for "new release": the feature, the candidate pool and
    // the exploration weight all use model.new_release_days.
    i.cfg.api.recommend.slate.new_release.max_age_days = i.cfg.model.new_release_days;
    export_bandit_settings(i.registry, i.cfg);
    i.events = std::make_unique<stream::topic_sink>(*i.producer, i.cfg.kafka.events_topic);
    // One reward window and default reward for both kinds of decision.
    i.cfg.api.rank.reward_window = i.cfg.applier.rewards.window;
    i.cfg.api.rank.default_reward = i.cfg.applier.rewards.default_reward;
    i.cfg.api.rank.close_every = std::chrono::seconds(1);
    i.rank = std::make_unique<serve::rank_service>(i.cfg.api.rank, *i.store, &i.snapshots, i.decisions.get(),
                                                   i.registry);
    // Rewards on the stream for /v1/rank decisions go to the rank model
    // (set before the ingest thread starts).
    i.applier->set_foreign_rewards([&i](const events::event& e, double reward) -> core::result<bool> {
        auto outcome = i.rank->reward(e.decision_id, e.item_id, reward, e.ts_ms, e.user_id);
        if (!outcome) return outcome.error();
        return outcome.value() != serve::reward_outcome::unknown_decision;
    });
    i.cfg.api.events = i.cfg.applier.decoder;
    i.cfg.api.events_confirm_timeout = std::chrono::milliseconds(i.cfg.kafka.events_delivery_timeout_ms);
    i.api = std::make_unique<serve::api>(
        i.cfg.api, i.snapshots, *i.store, serve::api_links{i.decisions.get(), i.events.get(), i.rank.get()},
        i.registry,
        [&i] { return i.ready(); }, [&i] { i.runtime->refresh(); });
    i.http = std::make_unique<serve::http_server>(
        i.cfg.http, [&i](serve::request&& r) { return i.api->handle(std::move(r)); },
        [&i](unsigned status) { i.api->count_server_response(status); });
    i.http->start();
    spdlog::info("serving HTTP on http://{}:{}", i.cfg.http.address, i.http->port());

    i.ingest_thread = std::thread([&i] {
        auto r = i.ingest->run(i.stopping);
        std::lock_guard lock(i.mutex);
        if (!r) {
            spdlog::critical("ingest stopped: {}", r.error().message);
            i.ok = false;
        }
        i.done = true;
    });
}

bool engine_host::shutdown() {
    auto& i = *impl_;
    if (i.broker && i.ingest && !i.stopping && i.ingest_thread.joinable()) {
        // The embedded broker's log ends with the process: HTTP stops first
        // (the events of requests in progress acknowledged), then ingest
        // applies everything the broker holds before it stops.
        if (i.http) i.http->stop();
        i.ingest->drain_then_stop(std::chrono::seconds(10));
    } else {
        // Kafka keeps what is not applied yet: ingest winds down (its last
        // batch and offsets) while HTTP stops accepting and drains, in
        // parallel, new connections refused from the start.
        stop();
        if (i.http) i.http->stop();
    }
    if (i.ingest_thread.joinable()) i.ingest_thread.join();
    std::lock_guard lock(i.mutex);
    return i.ok;
}

engine_host::~engine_host() {
    auto& i = *impl_;
    shutdown();
    i.api.reset();
    i.rank.reset();
    i.runtime.reset();
    i.ingest.reset();
    i.applier.reset();
    // One 10 s budget for all, so that with the brokers gone shutdown still
    // ends well inside a container's grace period (drain + 10 s + ~1 s).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (auto* p : {i.log_producer.get(), i.producer.get(), i.dlq_producer.get()}) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::max(deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration::zero()));
        if (p && !p->close(left))
            spdlog::warn("shutdown: some decision/DLQ messages were not delivered within 10 s");
    }
    i.decisions.reset();
    i.events.reset();
    i.dlq.reset();
    i.log_producer.reset();
    i.producer.reset();
    i.dlq_producer.reset();
    i.store.reset();
    i.broker.reset();
    spdlog::info("shutdown complete");
}

bool engine_host::running() const {
    std::lock_guard lock(impl_->mutex);
    return !impl_->done;
}

void engine_host::stop() { impl_->stopping = true; }
const std::string& engine_host::bootstrap() const { return impl_->cfg.kafka.brokers; }
stream::embedded_broker* engine_host::embedded_broker() { return impl_->broker.get(); }
std::uint16_t engine_host::http_port() const { return impl_->http->port(); }
std::uint64_t engine_host::loaded_version() const { return impl_->loaded_version; }
bool engine_host::ready() const { return impl_->ready(); }
stream::kafka_producer& engine_host::http_producer() { return *impl_->producer; }
prometheus::Registry& engine_host::registry() { return impl_->registry; }
const config& engine_host::settings() const { return impl_->cfg; }

}  // namespace marquee::app
