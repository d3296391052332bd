#include "stream/ingest_probe.h"

#include "bandits/policy_kind.h"

namespace marquee::stream {

ingest_probe::ingest_probe(prometheus::Registry& registry) {
    auto& applied = prometheus::BuildCounter()
                        .Name("marquee_events_applied_total")
                        .Help("Valid events applied to state, by event type")
                        .Register(registry);
    for (std::size_t i = 0; i < events::event_type_count; ++i)
        applied_[i] = &applied.Add({{"type", std::string(events::event_type_names[i])}});
    invalid_ = &prometheus::BuildCounter()
                    .Name("marquee_events_invalid_total")
                    .Help("Events rejected by validation, by reason")
                    .Register(registry);
    for (auto reason : events::decode_reasons) invalid_->Add({{"reason", std::string(reason)}});
    catalog_invalid_ = &prometheus::BuildCounter()
                            .Name("marquee_catalog_invalid_total")
                            .Help("Catalog records rejected by validation, by reason")
                            .Register(registry);
    for (auto reason : events::decode_reasons) catalog_invalid_->Add({{"reason", std::string(reason)}});
    catalog_applied_ = &prometheus::BuildCounter()
                            .Name("marquee_catalog_applied_total")
                            .Help("Catalog records applied to the model")
                            .Register(registry)
                            .Add({});
    rewards_ = &prometheus::BuildCounter()
                    .Name("marquee_rewards_total")
                    .Help("Reward outcomes by the policy that served the decision: applied (by decision_id), "
                          "window (matched in the reward window), default (window closed without one), "
                          "duplicate, unknown_item, unknown_decision")
                    .Register(registry);
    reward_value_ = &prometheus::BuildCounter()
                         .Name("marquee_reward_value_total")
                         .Help("Sum of the rewards policies learned from (applied + window + default outcomes), by policy")
                         .Register(registry);
    rebalances_ = &prometheus::BuildCounter()
                       .Name("marquee_consumer_rebalances_total")
                       .Help("Partition assignments and revocations seen by the consumer")
                       .Register(registry);
    // Every label value exists from the start, so dashboards show 0, not "no data".
    for (auto kind : {"assign", "revoke"}) rebalances_->Add({{"kind", kind}});
    for (auto policy : bandits::all_policy_kinds) {
        const std::string name(bandits::to_string(policy));
        for (auto outcome : {"applied", "window", "default", "duplicate", "unknown_item", "stale_features"})
            rewards_->Add({{"policy", name}, {"outcome", outcome}});
        reward_value_->Add({{"policy", name}});
    }
    rewards_->Add({{"policy", "unknown"}, {"outcome", "unknown_decision"}});
    dead_lettered_ = &prometheus::BuildCounter()
                          .Name("marquee_events_dead_lettered_total")
                          .Help("Invalid events forwarded to the dead-letter topic")
                          .Register(registry)
                          .Add({});
    duplicates_ = &prometheus::BuildCounter()
                       .Name("marquee_events_duplicate_total")
                       .Help("Events skipped because their event_id was already applied (producer retries)")
                       .Register(registry)
                       .Add({});
    consumer_errors_ = &prometheus::BuildCounter()
                            .Name("marquee_consumer_errors_total")
                            .Help("Non-fatal errors reported by the Kafka consumer")
                            .Register(registry)
                            .Add({});
    skipped_ = &prometheus::BuildCounter()
                    .Name("marquee_consumer_skipped_offsets_total")
                    .Help("Records the broker deleted before they were consumed (retention or a size bound): lost to state")
                    .Register(registry);
    batch_events_ = &prometheus::BuildHistogram()
                         .Name("marquee_batch_events")
                         .Help("Messages per committed batch")
                         .Register(registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{1, 10, 50, 100, 250, 500, 1000, 2500, 5000});
    batch_seconds_ = &prometheus::BuildHistogram()
                          .Name("marquee_batch_apply_seconds")
                          .Help("Time to decode, apply and durably commit one batch")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{
                                       50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3,
                                       100e-3, 250e-3, 500e-3, 1.0, 2.5});
    snapshot_seconds_ = &prometheus::BuildHistogram()
                             .Name("marquee_snapshot_publish_seconds")
                             .Help("Time to copy the model into a new serving snapshot")
                             .Register(registry)
                             .Add({}, prometheus::Histogram::BucketBoundaries{
                                          50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3,
                                          100e-3, 250e-3});
    lag_ = &prometheus::BuildGauge()
                .Name("marquee_consumer_lag_messages")
                .Help("Messages in the partition not yet applied, from the next one this instance will apply to the high watermark")
                .Register(registry);
    assigned_ = &prometheus::BuildGauge()
                     .Name("marquee_consumer_assigned_partitions")
                     .Help("Partitions currently assigned to this instance")
                     .Register(registry)
                     .Add({});
}

void ingest_probe::lag_removed(const std::string& topic, std::int32_t partition) {
    // Partitions come and go with rebalances: drop their series rather than
    // leave a stale lag behind.
    const std::map<std::string, std::string> labels{{"topic", topic}, {"partition", std::to_string(partition)}};
    if (lag_->Has(labels)) lag_->Remove(&lag_->Add(labels));
}

void ingest_probe::event_invalid(std::string_view reason) {
    invalid_->Add({{"reason", std::string(reason)}}).Increment();
}

void ingest_probe::catalog_invalid(std::string_view reason) {
    catalog_invalid_->Add({{"reason", std::string(reason)}}).Increment();
}

void ingest_probe::reward(std::string_view policy, std::string_view outcome, double value) {
    rewards_->Add({{"policy", std::string(policy)}, {"outcome", std::string(outcome)}}).Increment();
    if (value != 0.0) reward_value_->Add({{"policy", std::string(policy)}}).Increment(value);
}

void ingest_probe::batch_committed(std::size_t events, double seconds) {
    batch_events_->Observe(double(events));
    batch_seconds_->Observe(seconds);
}

double ingest_probe::applied_total() const {
    double total = 0;
    for (auto* c : applied_) total += c->Value();
    return total;
}

}  // namespace marquee::stream
