// Binary encodings of the values kept in the state store. Each starts with a
// format version byte; decoding checks every length and returns an error on
// corrupt input instead of reading past it.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "engine/model.h"
#include "engine/pending_decision.h"
#include "engine/user_state.h"

namespace marquee::state {

std::string encode_user(const engine::user_state& u);
core::result<engine::user_state> decode_user(std::string_view bytes);

struct item_row {
    std::uint32_t row = 0;  // position in the item matrix, kept so reloads are order-exact
    std::vector<float> embedding;
    engine::item_stats stats;
};
std::string encode_item(std::uint32_t row, const float* embedding, int dim, const engine::item_stats& stats);
core::result<item_row> decode_item(std::string_view bytes);

std::string encode_decision(const engine::pending_decision& d);
core::result<engine::pending_decision> decode_decision(std::string_view bytes);

}  // namespace marquee::state
