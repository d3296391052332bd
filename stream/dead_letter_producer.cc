#include "stream/dead_letter_producer.h"

#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

namespace marquee::stream {

core::result<void> dead_letter_producer::send(const raw_message& m, const core::error& why) {
    const std::string partition = std::to_string(m.partition), offset = std::to_string(m.offset);
    const std::string original_size = std::to_string(m.payload.size());
    std::vector<header> headers = {
        {"marquee.error.reason", why.reason}, {"marquee.error.message", why.message},
        {"marquee.source.topic", m.topic},    {"marquee.source.partition", partition},
        {"marquee.source.offset", offset},
    };
    std::string_view payload = m.payload;
    // A full local queue is transient: wait for deliveries rather than drop
    // the record (the consumer is not polling meanwhile: backpressure).
    for (int attempt = 0;; ++attempt) {
        auto r = producer_.produce(topic_, m.key, payload, headers);
        if (r) return core::success();
        // A record the broker took compressed can exceed message.max.bytes
        // once uncompressed; its head is enough to see what was wrong, and
        // the source offset points at the whole of it.
        if (r.error().reason == "too_large" && payload.size() > truncated_bytes) {
            payload = payload.substr(0, truncated_bytes);
            headers.push_back({"marquee.error.truncated_from", original_size});
            continue;
        }
        if (r.error().reason != "queue_full" || attempt == 100)
            return core::error{"dead_letter", "could not forward " + std::string(m.topic) + "[" + partition + "]@" +
                                                  offset + " to " + topic_ + ": " + r.error().message};
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

core::result<void> dead_letter_producer::confirm() {
    if (!producer_.flush(confirm_timeout_))
        return core::error{"dead_letter", "dead letters not delivered to " + topic_ + " within " +
                                              std::to_string(confirm_timeout_.count()) + " ms"};
    const auto failed = producer_.failed_deliveries(topic_);
    if (failed == failed_seen_) return core::success();
    const auto lost = failed - failed_seen_;
    failed_seen_ = failed;
    return core::error{"dead_letter", std::to_string(lost) + " dead letter(s) not delivered to " + topic_};
}

}  // namespace marquee::stream
