// target: a request target split into percent-decoded path segments and
// query parameters. Rejects malformed escapes and repeated parameters
// instead of guessing; accepts the origin and the absolute form.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace marquee::serve {

struct target {
    std::string path;                   // as received, without the query
    std::vector<std::string> segments;  // decoded; inner and trailing empty ones kept
    std::vector<std::pair<std::string, std::string>> params;  // each name at most once

    // The first value of query parameter `name`, if present.
    std::optional<std::string> query(std::string_view name) const {
        for (const auto& [k, v] : params)
            if (k == name) return v;
        return std::nullopt;
    }
};

core::result<target> parse_target(std::string_view raw);

}  // namespace marquee::serve
