// result<T>: the value of a fallible hot-path call, or an error saying why.
// Errors carry a stable low-cardinality `reason` token (metric label, DLQ
// header, HTTP error code) and a human message; exceptions are kept for
// start-up and configuration failures only.
#pragma once

#include <boost/outcome/result.hpp>
#include <boost/outcome/success_failure.hpp>
#include <string>
#include <string_view>

namespace marquee::core {

struct error {
    std::string_view reason;  // static storage: a token such as "missing_field"
    std::string message;
};

template <class T>
using result = boost::outcome_v2::result<T, error, boost::outcome_v2::policy::terminate>;

inline auto success() { return boost::outcome_v2::success(); }

}  // namespace marquee::core
