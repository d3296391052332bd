#include "stream/dead_letter_producer.h"

#include <spdlog/spdlog.h>

#include <thread>

namespace marquee::stream {

void dead_letter_producer::send(const raw_message& m, const core::error& why) {
    const std::string partition = std::to_string(m.partition), offset = std::to_string(m.offset);
    const header headers[] = {
        {"marquee.error.reason", why.reason}, {"marquee.error.message", why.message},
        {"marquee.source.topic", m.topic},    {"marquee.source.partition", partition},
        {"marquee.source.offset", offset},
    };
    // A full local queue is transient: wait for deliveries rather than drop
    // the record (the consumer is not polling meanwhile: backpressure).
    for (int attempt = 0;; ++attempt) {
        auto r = producer_.produce(topic_, m.key, m.payload, headers);
        if (r) return;
        if (r.error().reason != "queue_full" || attempt == 100) {
            spdlog::error("dlq: could not forward {}[{}]@{} ({}): {}", m.topic, m.partition, m.offset, why.reason,
                          r.error().message);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace marquee::stream
