// utf8: whether bytes are valid UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). Ids that arrive percent-encoded in a
// URL are checked with it: they end up in JSON responses and in events,
// which must be UTF-8 (the ingest's decoder rejects anything else).
#pragma once

#include <string_view>

namespace marquee::core {

inline bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int n;                            // continuation bytes
        unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the first one
        if (c >= 0xC2 && c <= 0xDF) n = 1;
        else if (c == 0xE0) n = 2, lo = 0xA0;        // not overlong
        else if (c == 0xED) n = 2, hi = 0x9F;        // not a surrogate
        else if (c >= 0xE1 && c <= 0xEF) n = 2;
        else if (c == 0xF0) n = 3, lo = 0x90;        // not overlong
        else if (c == 0xF4) n = 3, hi = 0x8F;        // not above U+10FFFF
        else if (c >= 0xF1 && c <= 0xF3) n = 3;
        else return false;                           // 0x80-0xC1, 0xF5-0xFF
        if (end - p <= n || p[1] < lo || p[1] > hi) return false;
        for (int k = 2; k <= n; ++k)
            if ((p[k] & 0xC0) != 0x80) return false;
        p += n + 1;
    }
    return true;
}

}  // namespace marquee::core
