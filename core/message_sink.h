// message_sink: somewhere to append keyed messages (e.g. a Kafka topic).
// Lets pure layers log decisions without knowing the transport.
// Implementations must be thread-safe, non-blocking and must not throw.
#pragma once

#include <functional>
#include <string_view>

#include "core/result.h"

namespace marquee::core {

class message_sink {
public:
    using delivery_callback = std::function<void(result<void>)>;

    virtual ~message_sink() = default;
    // Enqueues the message; an error means it was not taken.
    virtual result<void> send(std::string_view key, std::string_view value) = 0;
    // Enqueues the message and calls `delivered` exactly once, possibly on
    // another thread, with whether it is now durably stored (for a Kafka
    // topic: acknowledged by the brokers), so a caller can promise as much.
    // The default, for sinks that keep what they take, reports the enqueue.
    virtual void send_confirmed(std::string_view key, std::string_view value, delivery_callback delivered) {
        delivered(send(key, value));
    }
};

}  // namespace marquee::core
