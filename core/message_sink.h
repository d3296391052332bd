// message_sink: somewhere to append keyed messages (e.g. a Kafka topic).
// Lets pure layers log decisions without knowing the transport.
// Implementations must be thread-safe, non-blocking and must not throw.
#pragma once

#include <string_view>

#include "core/result.h"

namespace marquee::core {

class message_sink {
public:
    virtual ~message_sink() = default;
    virtual result<void> send(std::string_view key, std::string_view value) = 0;
};

}  // namespace marquee::core
