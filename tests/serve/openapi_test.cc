// openapi.yaml <-> the routes the server answers: every documented path and
// method answers on a running server (not 404/405), and every served route
// (api::routes()) is documented. A line parser suffices: paths are the
// two-space-indented keys under `paths:`, methods the four-space ones.
#include <gtest/gtest.h>

#include <filesystem>
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

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Error.code's enum in openapi.yaml, and the codes serve/*.cc passes to
// json_error: the same set, so a new code cannot go undocumented.
TEST(openapi, the_error_code_enum_is_exactly_the_codes_the_server_sends) {
    const std::string spec = read_file(MARQUEE_SOURCE_DIR "/openapi.yaml");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(spec, m, std::regex(R"(enum: \[(invalid_parameter[^\]]*)\])")));
    std::set<std::string> documented;
    const std::string list = m[1];
    const std::regex word(R"([a-z_]+)");
    for (auto it = std::sregex_iterator(list.begin(), list.end(), word); it != std::sregex_iterator(); ++it)
        documented.insert(it->str());

    std::set<std::string> sent;
    const std::regex call(R"re(json_error\(\s*[\w:]+,\s*"([a-z_]+)")re");
    for (const auto& f : std::filesystem::directory_iterator(MARQUEE_SOURCE_DIR "/serve")) {
        if (f.path().extension() != ".cc") continue;
        const std::string code = read_file(f.path());
        for (auto it = std::sregex_iterator(code.begin(), code.end(), call); it != std::sregex_iterator(); ++it)
            sent.insert((*it)[1].str());
    }
    EXPECT_GE(sent.size(), 10u) << "the scan found the json_error calls";
    EXPECT_EQ(documented, sent);
}

}  // namespace
}  // namespace marquee::serve
