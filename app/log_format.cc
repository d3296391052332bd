#include "app/log_format.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <stdexcept>
#include <string>

#include "core/json_writer.h"

namespace marquee::app {

namespace {

// %j: the message as a JSON string (quoted and escaped).
class json_message_flag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        std::string out;
        core::append_json_string(out, std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(out.data(), out.data() + out.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

}  // namespace

void set_log_format(std::string_view format) {
    if (format == "text") {
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
        spdlog::default_logger()->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    } else if (format == "json") {
        auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
        f->add_flag<json_message_flag>('j').set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%j})");
        spdlog::default_logger()->set_formatter(f->clone());  // also when not registered
        spdlog::set_formatter(std::move(f));
    } else {
        throw std::invalid_argument("log.format: expected text or json, got '" + std::string(format) + "'");
    }
}

}  // namespace marquee::app
