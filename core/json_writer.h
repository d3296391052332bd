// Minimal streaming JSON writer for hot-path responses and encoded events.
// Appends to a caller-owned std::string so buffers can be reused.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace marquee::core {

inline void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    out.push_back('"');
}

inline void append_json_number(std::string& out, double v) {
    if (!std::isfinite(v)) {  // JSON has no NaN/inf; null is the honest value
        out += "null";
        return;
    }
    // As printf's "%.6g", without the locale and format parsing.
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 6);
    out.append(buf, r.ptr);
}

// The shortest text that reads back as exactly `v`: for values that are
// data (an event's), not for display.
inline void append_json_number_exact(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

inline void append_json_number(std::string& out, std::int64_t v) { out += std::to_string(v); }

}  // namespace marquee::core
