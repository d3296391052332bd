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
    struct param {
        std::string name, value;  // decoded
        std::string raw;          // the value as received
    };
    std::string path;                   // as received, without the query
    std::vector<std::string> segments;  // decoded; inner and trailing empty ones kept
    std::vector<param> params;          // each name at most once

    // The value of query parameter `name`, if present.
    std::optional<std::string> query(std::string_view name) const;
    // The comma-separated values of `name`, if present, each decoded after
    // the split (so "%2C" is a comma inside a value); empty ones dropped.
    std::optional<std::vector<std::string>> query_list(std::string_view name) const;
};

core::result<target> parse_target(std::string_view raw);

}  // namespace marquee::serve
