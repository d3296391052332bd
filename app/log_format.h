// Log output formats for spdlog: "text" (human) or "json" (one JSON object
// per line: ts, level, msg), for log shippers. Lines go to stdout.
#pragma once

#include <string_view>

namespace marquee::app {

// Applies `format` ("text" or "json") to the default logger; throws
// std::invalid_argument on anything else.
void set_log_format(std::string_view format);

}  // namespace marquee::app
