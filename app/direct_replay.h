// direct_replay: applies events to a data dir through the same batch_applier
// as Kafka ingest, without a broker: the reference a broker replay of the
// same events (in the same order) must reproduce, checksum for checksum.
#pragma once

#include <cstddef>
#include <vector>

#include "app/config.h"
#include "events/event.h"

namespace marquee::app {

// Applies `events` in order, in batches of ingest.batch_max_messages;
// returns how many were applied. Throws on storage errors.
std::size_t direct_replay(const config& c, const std::vector<events::event>& events);

}  // namespace marquee::app
