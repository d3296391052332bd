// Helpers for tests that talk to a real Kafka-protocol broker (the embedded
// mock cluster or a real one): produce events, read a topic back, read
// metrics from a registry, and tally what was produced per user.
#pragma once

#include <librdkafka/rdkafkacpp.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "app/config.h"
#include "engine/user_state.h"
#include "events/event.h"
#include "stream/embedded_broker.h"

namespace marquee::testing {

struct consumed {
    std::string key, value;
    std::int32_t partition = -1;
    std::map<std::string, std::string> headers;
};

// Produces raw payloads keyed by `keys[i]`; waits for delivery.
void produce_raw(const std::string& bootstrap, const std::string& topic,
                 const std::vector<std::pair<std::string, std::string>>& key_values);
void produce_events(const std::string& bootstrap, const std::string& topic, const std::vector<events::event>& events);
// Reads every partition of `topic` from the beginning until `expected`
// messages arrived (counting only those `until` accepts, if given) or
// `timeout` passed.
std::vector<consumed> consume_all(const std::string& bootstrap, const std::string& topic, std::size_t expected,
                                  std::chrono::milliseconds timeout,
                                  const std::function<bool(const consumed&)>& until = {});

// The sum over partitions 0..partitions-1 of `topic` of the offsets `group`
// has committed (a partition with none counts 0); -1 if they cannot be read.
std::int64_t group_committed(const std::string& bootstrap, const std::string& group, const std::string& topic,
                             int partitions);

// The sum over partitions 0..partitions-1 of `topic` of their end offsets
// (high watermarks), asked of the brokers; -1 if they cannot be read.
std::int64_t end_offsets(const std::string& bootstrap, const std::string& topic, int partitions);

// Sum of every series of a counter or gauge family, filtered by one label.
double metric_sum(prometheus::Registry& registry, const std::string& name, const std::string& label = "",
                  const std::string& value = "");

// Sum of the series of a family that carry every one of `labels`.
double metric_with(prometheus::Registry& registry, const std::string& name,
                   const std::map<std::string, std::string>& labels);

// Sum and count of the observations of an unlabelled histogram ({0, 0}
// when it is not registered).
std::pair<double, std::uint64_t> histogram_totals(const prometheus::Registry& registry, const std::string& name);

// Synthetic but MovieLens-shaped events: `users` users, skewed item popularity.
std::vector<events::event> synthetic_events(int users, int items, int count, std::uint64_t seed);

// Creates the topics an engine writes to and reads from (events, decisions,
// dead letters; plus the catalog when `with_items`) with `partitions` each.
void create_engine_topics(stream::embedded_broker& broker, int partitions, bool with_items = false);

// Engine settings for tests: the given broker and data dir, any free HTTP
// port, small embeddings, and a short group session so that a member that
// vanished is replaced in seconds rather than the production 45 s.
app::config engine_config(const std::string& bootstrap, const std::string& data_dir);

using tally = std::map<std::string, std::array<std::uint32_t, events::event_type_count>>;
tally count_by_user(const std::vector<events::event>& events);

}  // namespace marquee::testing
