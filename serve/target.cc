#include "serve/target.h"

#include <algorithm>

#include "core/utf8.h"

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

// RFC 9112 3.2.2: a server must accept the absolute form
// (http://host/path?query), which proxies send. Returns what follows the
// authority ("" or from its '/' or '?'), or nothing for another form.
std::optional<std::string_view> after_authority(std::string_view raw) {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (raw.size() < scheme.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < scheme.size(); ++i)
            same = same && (raw[i] | 0x20) == scheme[i];  // schemes are case-insensitive
        if (!same) continue;
        const auto rest = raw.substr(scheme.size());
        return rest.substr(std::min(rest.find_first_of("/?"), rest.size()));
    }
    return std::nullopt;
}

}  // namespace

core::result<target> parse_target(std::string_view raw) {
    if (auto rest = after_authority(raw))
        raw = *rest;
    else if (raw.empty() || raw.front() != '/')
        return core::error{"bad_request", "request target must start with '/' (or be absolute: http://host/...)"};
    target t;
    auto q = raw.find('?');
    std::string_view path = raw.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view() : raw.substr(q + 1);
    t.path = path.empty() ? "/" : std::string(path);

    // Inner empty segments are kept: /v1/users//recommendations names an
    // empty user id (a 400), not the user "recommendations".
    std::string decoded;
    if (!path.empty()) path.remove_prefix(1);
    while (!path.empty()) {
        auto slash = path.find('/');
        std::string_view seg = path.substr(0, slash);
        if (!decode(seg, false, decoded)) return core::error{"bad_request", "malformed percent-escape in path"};
        t.segments.push_back(decoded);
        if (slash == std::string_view::npos) break;
        path = path.substr(slash + 1);
        if (path.empty()) t.segments.emplace_back();  // a trailing slash
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
        // One value per name: ?exclude=a&exclude=b must not quietly mean "a".
        if (t.query(key))  // the name is echoed only if it can go into a JSON string as it is
            return core::error{"bad_request", (core::valid_utf8(key) ? "query parameter '" + key + "'"
                                                                     : std::string("a query parameter (not UTF-8)")) +
                                                  " given more than once"};
        t.params.push_back({std::move(key), std::move(value), std::string(eq == std::string_view::npos
                                                                               ? std::string_view()
                                                                               : pair.substr(eq + 1))});
    }
    return t;
}

std::optional<std::string> target::query(std::string_view name) const {
    for (const auto& p : params)
        if (p.name == name) return p.value;
    return std::nullopt;
}

std::optional<std::vector<std::string>> target::query_list(std::string_view name) const {
    for (const auto& p : params) {
        if (p.name != name) continue;
        std::vector<std::string> out;
        std::string_view raw = p.raw;
        std::string decoded;
        while (!raw.empty()) {
            const auto comma = raw.find(',');
            // Cannot fail: the whole value decoded, and a split cannot cut an escape (no ',' in one).
            if (decode(raw.substr(0, comma), true, decoded) && !decoded.empty()) out.push_back(decoded);
            if (comma == std::string_view::npos) break;
            raw.remove_prefix(comma + 1);
        }
        return out;
    }
    return std::nullopt;
}

}  // namespace marquee::serve
