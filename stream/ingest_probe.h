// ingest_probe: the ingest path's Prometheus metrics, behind verb methods so
// the pipeline code reads as what happened, not how it is counted.
// Thread-safe (prometheus-cpp metrics are atomic).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <string_view>

#include "events/event.h"
#include "events/event_decoder.h"

namespace marquee::stream {

class ingest_probe {
public:
    explicit ingest_probe(prometheus::Registry& registry);

    void event_applied(events::event_type t) { applied_[std::size_t(t)]->Increment(); }
    void event_invalid(std::string_view reason);
    void dead_lettered() { dead_lettered_->Increment(); }
    void catalog_applied() { catalog_applied_->Increment(); }
    void catalog_invalid(std::string_view reason);
    void duplicate() { duplicates_->Increment(); }
    // A reward outcome for a decision served by `policy`; `value` is the
    // reward the policy learned (0 unless the outcome taught it something).
    void reward(std::string_view policy, std::string_view outcome, double value = 0.0);
    void batch_committed(std::size_t events, double seconds);
    void snapshot_published(double seconds) { snapshot_seconds_->Observe(seconds); }
    void rebalanced(std::string_view kind) { rebalances_->Add({{"kind", std::string(kind)}}).Increment(); }
    void assigned_partitions(std::size_t n) { assigned_->Set(double(n)); }
    void consumer_error() { consumer_errors_->Increment(); }
    // Records the broker deleted (retention, a size bound) before this
    // consumer read them.
    void offsets_skipped(const std::string& topic, std::int64_t n) {
        skipped_->Add({{"topic", topic}}).Increment(double(n));
    }
    void lag(const std::string& topic, std::int32_t partition, double messages) {
        lag_->Add({{"topic", topic}, {"partition", std::to_string(partition)}}).Set(messages);
    }
    void lag_removed(const std::string& topic, std::int32_t partition);

    double applied_total() const;

private:
    std::array<prometheus::Counter*, events::event_type_count> applied_{};
    prometheus::Family<prometheus::Counter>* invalid_;
    prometheus::Family<prometheus::Counter>* catalog_invalid_;
    prometheus::Counter* catalog_applied_;
    prometheus::Family<prometheus::Counter>* rewards_;
    prometheus::Family<prometheus::Counter>* reward_value_;
    prometheus::Family<prometheus::Counter>* rebalances_;
    prometheus::Counter* dead_lettered_;
    prometheus::Counter* duplicates_;
    prometheus::Counter* consumer_errors_;
    prometheus::Family<prometheus::Counter>* skipped_;
    prometheus::Histogram* batch_events_;
    prometheus::Histogram* batch_seconds_;
    prometheus::Histogram* snapshot_seconds_;
    prometheus::Gauge* assigned_;
    prometheus::Family<prometheus::Gauge>* lag_;
};

}  // namespace marquee::stream
