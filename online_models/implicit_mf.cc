#include "online_models/implicit_mf.h"

#include <algorithm>
#include <cmath>

namespace marquee::online_models {

feedback to_feedback(const events::event& e) {
    using events::event_type;
    switch (e.type) {
    case event_type::watch: {
        float fraction = static_cast<float>(e.value.value_or(1.0));
        // Watching under a tenth is closer to a bounce than a signal.
        return fraction < 0.1f ? feedback{0.0f, 0.2f} : feedback{1.0f, fraction};
    }
    case event_type::like: return {1.0f, 1.0f};
    case event_type::dislike: return {0.0f, 1.0f};
    case event_type::rating: {
        float centred = (static_cast<float>(*e.value) - 2.5f) / 2.5f;  // [-1, 1]
        return centred >= 0.0f ? feedback{1.0f, std::max(centred, 0.1f)} : feedback{0.0f, -centred};
    }
    case event_type::click: return {1.0f, 0.5f};
    case event_type::skip: return {0.0f, 0.3f};
    case event_type::impression:
    case event_type::reward: return {0.0f, 0.0f};  // a policy signal, not a preference
    }
    return {};
}

namespace {
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

float sgd_step(Eigen::Ref<Eigen::VectorXf> user, Eigen::Ref<Eigen::VectorXf> item, float target,
               float weight, const mf_options& o) {
    float p = sigmoid(user.dot(item));
    float g = weight * (p - target);  // d loss / d (u.v)
    // Evaluate both gradients before writing either (simultaneous update).
    const Eigen::Index free = o.item_bias ? user.size() - 1 : user.size();
    for (Eigen::Index i = 0; i < user.size(); ++i) {
        float u = user[i], v = item[i];
        if (i < free) user[i] = u - o.learning_rate * (g * v + o.l2 * u);
        item[i] = v - o.learning_rate * (g * u + o.l2 * v);
    }
    // Max-norm projection (Srebro & Shraibman 2005): a no-op while learning
    // converges; bounds each step, so vectors stay finite, when it does not.
    auto project = [](auto v) {
        const float norm = v.norm();
        if (norm > max_vector_norm) v *= max_vector_norm / norm;
    };
    project(user.head(free));
    project(item);
    return p;
}

void init_user(float* out, const mf_options& o) {
    std::fill(out, out + o.dim, 0.0f);
    if (o.item_bias && o.dim > 0) out[o.dim - 1] = 1.0f;
}

float weighted_log_loss(const Eigen::VectorXf& user, const Eigen::VectorXf& item, float target,
                        float weight, float l2) {
    float p = sigmoid(user.dot(item));
    float ll = -(target * std::log(p) + (1.0f - target) * std::log(1.0f - p));
    return weight * ll + 0.5f * l2 * (user.squaredNorm() + item.squaredNorm());
}

}  // namespace marquee::online_models
