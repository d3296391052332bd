#include "engine/learner.h"

#include <algorithm>

#include "core/hash.h"
#include "core/rng.h"

namespace marquee::engine {

using events::event_type;

std::optional<double> reward_of(const events::event& e) {
    switch (e.type) {
    case event_type::click:
    case event_type::like: return 1.0;
    case event_type::watch: return e.value.value_or(1.0);
    case event_type::rating: return *e.value / 5.0;
    case event_type::dislike:
    case event_type::skip: return 0.0;
    case event_type::reward: return *e.value;
    case event_type::impression: return std::nullopt;
    }
    return std::nullopt;
}

bool is_positive_response(const events::event& e, const reward_options& options) {
    switch (e.type) {
    case event_type::click:
    case event_type::like: return true;
    case event_type::watch: return e.value.value_or(1.0) >= options.watch_fraction;
    default: return false;
    }
}

reward_outcome learner::apply(const events::event& e, user_state& user, pending_decision* decision,
                              touched& out) {
    const auto& opt = model_.options();
    model_.advance_clock(e.ts_ms);
    if (e.type == event_type::reward) {
        // A policy signal about a decision, not an interaction with the item:
        // no history, embeddings or popularity.
        user.counts[std::size_t(e.type)] += 1;
        return reward_decision(e, decision, out);
    }

    user.counts[std::size_t(e.type)] += 1;
    user.events += 1;
    user.last_ts_ms = std::max(user.last_ts_ms, e.ts_ms);
    const std::uint32_t row = model_.ensure_item(e.item_id, e.ts_ms);
    out.item_rows.insert(row);
    const auto fb = online_models::to_feedback(e);
    // Co-visitation pairs a liked item with what the user consumed just
    // before it, whatever the response: co-consumption is the signal (pairing
    // with liked items only measured lower, README "Models"). Read the
    // history before this event joins it.
    if (fb.target > 0.0f) update_covisitation(user, row, fb.weight, out);
    if (e.type != event_type::impression)
        user.remember_item(e.item_id, fb.target > 0.0f, std::size_t(std::max(opt.history_size, 0)));

    if (fb.target > 0.0f) model_.stats(row).popularity.add(fb.weight, e.ts_ms, opt.half_life_ms());
    if (fb.weight > 0.0f) update_embeddings(e, user, row, out);

    return reward_decision(e, decision, out);
}

reward_outcome learner::reward_decision(const events::event& e, pending_decision* decision, touched& out) {
    if (!decision) return reward_outcome::none;
    auto reward = reward_of(e);
    if (!reward) return reward_outcome::none;
    for (auto& shown : decision->items) {
        if (shown.item_id != e.item_id) continue;
        if (shown.rewarded) return reward_outcome::already_rewarded;
        if (!decision->features_current) return reward_outcome::stale_features;
        if (!model_.bandit().update(shown.features, *reward)) return reward_outcome::rejected;
        shown.rewarded = true;
        out.bandit = true;
        return reward_outcome::applied;
    }
    return reward_outcome::unknown_item;
}

void learner::update_covisitation(const user_state& user, std::uint32_t row, float weight, touched& out) {
    auto& covisit = model_.covisit();
    const int window = covisit.options().window;
    int paired = 0;
    for (auto it = user.recent.rbegin(); it != user.recent.rend() && paired < window; ++it) {
        auto other = model_.items().find(*it);
        if (!other || *other == row) continue;
        covisit.add_pair(row, *other, weight);
        // Both lists changed; item rows are persisted with their neighbours.
        out.item_rows.insert(*other);
        ++paired;
    }
}

void learner::update_embeddings(const events::event& e, user_state& user, std::uint32_t row,
                                touched& out) {
    const auto& mf = model_.options().mf;
    // Empty for a new user; another size only from a store written with
    // another model.mf.dim (mapping it as this one would overrun it).
    if (user.embedding.size() != std::size_t(mf.dim)) {
        user.embedding.assign(std::size_t(mf.dim), 0.0f);
        online_models::init_user(user.embedding.data(), mf);
    }
    online_models::vector_map u(user.embedding.data(), mf.dim);
    const auto fb = online_models::to_feedback(e);
    online_models::sgd_step(u, model_.items().row(row), fb.target, fb.weight, mf);

    if (fb.target <= 0.0f || mf.negatives <= 0) return;
    // Negatives are drawn from a stream seeded by the event itself, so a
    // replay of the same events samples the same negatives.
    core::splitmix64 rng(core::mix64(core::hash64(e.user_id, mf.seed),
                                     core::hash64(e.item_id, std::uint64_t(e.ts_ms))));
    const std::size_t n = model_.items().size();
    for (int i = 0; i < mf.negatives && n > 1; ++i) {
        auto neg = static_cast<std::uint32_t>(rng.below(n));
        if (neg == row || user.has_seen(model_.items().id(neg))) continue;
        online_models::sgd_step(u, model_.items().row(neg), 0.0f, 1.0f, mf);
        out.item_rows.insert(neg);
    }
}

}  // namespace marquee::engine
