#include "serve/target.h"

namespace marquee::serve {

namespace {

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool decode(std::string_view in, bool plus_is_space, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return false;
            int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out.push_back(char(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return true;
}

}  // namespace

core::result<target> parse_target(std::string_view raw) {
    if (raw.empty() || raw.front() != '/') return core::error{"bad_request", "request target must start with '/'"};
    target t;
    auto q = raw.find('?');
    std::string_view path = raw.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view() : raw.substr(q + 1);
    t.path = std::string(path);

    std::string decoded;
    while (!path.empty()) {
        auto slash = path.find('/');
        std::string_view seg = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
        if (seg.empty()) continue;
        if (!decode(seg, false, decoded)) return core::error{"bad_request", "malformed percent-escape in path"};
        t.segments.push_back(decoded);
    }
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        std::string key, value;
        if (!decode(pair.substr(0, eq), true, key) ||
            !decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true, value))
            return core::error{"bad_request", "malformed percent-escape in query"};
        t.params.emplace_back(std::move(key), std::move(value));
    }
    return t;
}

}  // namespace marquee::serve
