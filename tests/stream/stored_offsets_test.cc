// The offsets batch_applier stores with each batch's state, over a real
// RocksDB without Kafka: where the consumer is, which is where a restart
// must resume.
#include <gtest/gtest.h>

#include <array>

#include "stream/applier_rig.h"

namespace marquee::stream {
namespace {

TEST(stored_offsets, follow_the_last_record_of_a_partition_even_when_its_log_went_back_mid_batch) {
    // A topic re-created (or truncated) while a batch fills: the batch holds
    // 100, 101 from the old log, then 0 from the new one. Where the consumer
    // is, and where a restart must resume, is 1; the largest offset (102)
    // would skip the new log's 1..101 uncounted.
    applier_rig r(8, {});
    const std::string like = R"({"type":"like","user_id":"x","item_id":"m1","ts":1000})";
    const std::array<raw_message, 3> batch{{
        {.topic = "marquee.events", .partition = 0, .offset = 100, .key = "x", .payload = like},
        {.topic = "marquee.events", .partition = 0, .offset = 101, .key = "x", .payload = like},
        {.topic = "marquee.events", .partition = 0, .offset = 0, .key = "x", .payload = like},
    }};
    ASSERT_TRUE(r.applier.apply(batch));
    EXPECT_EQ(r.store->offset("marquee.events", 0).value(), 1);
}

}  // namespace
}  // namespace marquee::stream
