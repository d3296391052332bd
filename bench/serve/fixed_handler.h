// The serving benchmark's ceiling handler: no work, the same small JSON body
// for every request. Shared by serve_fixed and serve_bench's smoke run.
#pragma once

#include <string>

#include "serve/http_server.h"

namespace marquee::bench {

inline serve::response fixed_response(const serve::request& req) {
    static const std::string body = R"({"user_id":"u1","policy":"fixed","items":[]})";
    serve::response res{boost::beast::http::status::ok, req.version()};
    res.set(boost::beast::http::field::content_type, "application/json");
    res.body() = body;
    return res;
}

}  // namespace marquee::bench
