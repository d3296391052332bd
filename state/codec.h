// Binary encodings of the values kept in the state store. Each starts with a
// format version byte; decoding checks every length and returns an error on
// corrupt input instead of reading past it.
#pragma once

#include <optional>
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

// Hashes of the items a decision showed: the value of its by-user index
// entry, so a reward without a decision id reads only the decisions that may
// have shown its item. may_show_item: false means certainly not shown; true
// means the decision must be read to be sure; nullopt, a value that lists
// nothing (entries written before the list existed) or cannot be read.
std::string encode_shown_items(const engine::pending_decision& d);
std::optional<bool> may_show_item(std::string_view value, std::string_view item);

}  // namespace marquee::state
