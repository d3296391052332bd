// openapi.yaml <-> the routes the server answers: every documented path and
// method answers on a running server (not 404/405), and every served route
// (api::routes()) is documented. A line parser suffices: paths are the
// two-space-indented keys under `paths:`, methods the four-space ones.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "serve/serve_fixture.h"

namespace marquee::serve {
namespace {

std::set<std::pair<std::string, std::string>> documented_operations() {
    std::ifstream in(MARQUEE_SOURCE_DIR "/openapi.yaml");
    EXPECT_TRUE(in) << "openapi.yaml not found";
    std::set<std::pair<std::string, std::string>> ops;
    std::string line, path;
    bool in_paths = false;
    const std::regex path_re(R"(^  (/[^:]*):\s*$)"), method_re(R"(^    (get|post|put|patch|delete|head):\s*$)");
    std::smatch m;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = line.rfind("paths:", 0) == 0;
        if (!in_paths) continue;
        if (std::regex_match(line, m, path_re)) path = m[1];
        else if (!path.empty() && std::regex_match(line, m, method_re)) {
            std::string method = m[1];
            for (auto& c : method) c = char(std::toupper(c));
            ops.insert({method, path});
        }
    }
    return ops;
}

// A concrete target for a templated path, with ids the fixture knows.
std::string concrete(std::string path) {
    path = std::regex_replace(path, std::regex(R"(\{user_id\})"), "fan");
    return std::regex_replace(path, std::regex(R"(\{item_id\})"), "m3");
}

TEST_F(http_api, every_documented_operation_is_served_and_every_route_is_documented) {
    const auto documented = documented_operations();
    ASSERT_GE(documented.size(), 9u);
    std::set<std::pair<std::string, std::string>> served;
    for (const auto& r : api::routes()) served.insert({std::string(r.method), std::string(r.path)});
    for (const auto& op : served) EXPECT_TRUE(documented.count(op)) << op.first << " " << op.second << " is not in openapi.yaml";
    for (const auto& [method, path] : documented) {
        EXPECT_TRUE(served.count({method, path})) << method << " " << path << " is documented but not in api::routes()";
        auto r = testing::http_request(port, method, concrete(path), method == "POST" ? "{}" : "");
        EXPECT_NE(r.status, 404) << method << " " << path << ": " << r.body;
        EXPECT_NE(r.status, 405) << method << " " << path << ": " << r.body;
        EXPECT_LT(r.status, 500) << method << " " << path << ": " << r.body;
    }
}

TEST_F(http_api, every_documented_error_code_is_one_the_server_can_send) {
    std::ifstream in(MARQUEE_SOURCE_DIR "/openapi.yaml");
    const std::string spec((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* code : {"invalid_parameter", "invalid_body", "invalid_event", "not_found", "method_not_allowed",
                             "bad_request", "payload_too_large", "unsupported_media_type", "headers_too_large",
                             "not_ready", "storage", "unavailable", "internal"})
        EXPECT_NE(spec.find(code), std::string::npos) << code << " is not documented";
}

}  // namespace
}  // namespace marquee::serve
