// direct_replay: applies events to a data dir through the same batch_applier
// as Kafka ingest, without a broker: the reference a broker replay of the
// same events (in the same order) must reproduce, checksum for checksum.
#pragma once

#include <cstddef>
#include <vector>

#include "app/config.h"
#include "events/catalog_decoder.h"
#include "events/event.h"

namespace marquee::app {

struct replay_counts {
    std::size_t catalog = 0;  // catalog records applied
    std::size_t events = 0;   // events applied
};

// Applies `catalog` (as records of the items topic), then `events`, in order,
// in batches of ingest.batch_max_messages, then drops the stored offsets (they
// are positions in no topic). Throws on storage errors.
replay_counts direct_replay(const config& c, const std::vector<events::catalog_item>& catalog,
                            const std::vector<events::event>& events);

}  // namespace marquee::app
