#include "online_models/implicit_mf.h"

#include <gtest/gtest.h>

#include "online_models/embedding_table.h"

namespace marquee::online_models {
namespace {

Eigen::VectorXf vec(std::initializer_list<float> v) {
    Eigen::VectorXf out(static_cast<Eigen::Index>(v.size()));
    int i = 0;
    for (float x : v) out[i++] = x;
    return out;
}

TEST(implicit_mf, sgd_step_follows_the_finite_difference_gradient) {
    mf_options o;
    o.learning_rate = 1e-3f;
    o.l2 = 0.05f;
    const Eigen::VectorXf u0 = vec({0.3f, -0.2f, 0.5f, 0.1f}), v0 = vec({-0.4f, 0.25f, 0.2f, 0.6f});
    for (bool bias : {false, true})
    for (float target : {0.0f, 1.0f}) {
        o.item_bias = bias;
        const float weight = 0.7f;
        Eigen::VectorXf u = u0, v = v0;
        sgd_step(u, v, target, weight, o);
        // Step / -lr must equal the numerical gradient of the loss.
        const float h = 1e-3f;
        for (int i = 0; i < 4; ++i) {
            Eigen::VectorXf up = u0, um = u0, vp = v0, vm = v0;
            up[i] += h, um[i] -= h, vp[i] += h, vm[i] -= h;
            float gu = (weighted_log_loss(up, v0, target, weight, o.l2) - weighted_log_loss(um, v0, target, weight, o.l2)) / (2 * h);
            float gv = (weighted_log_loss(u0, vp, target, weight, o.l2) - weighted_log_loss(u0, vm, target, weight, o.l2)) / (2 * h);
            if (bias && i == 3)  // the user's bias slot is a constant, never stepped
                EXPECT_EQ(u[i], u0[i]);
            else
                EXPECT_NEAR((u0[i] - u[i]) / o.learning_rate, gu, 2e-3f) << "user dim " << i << " target " << target;
            EXPECT_NEAR((v0[i] - v[i]) / o.learning_rate, gv, 2e-3f) << "item dim " << i << " target " << target;
        }
    }
}

TEST(implicit_mf, positive_steps_raise_the_score_and_negative_steps_lower_it) {
    mf_options o;
    Eigen::VectorXf u = vec({0.1f, 0.1f}), v = vec({0.2f, -0.1f});
    const float before = u.dot(v);
    for (int i = 0; i < 20; ++i) sgd_step(u, v, 1.0f, 1.0f, o);
    EXPECT_GT(u.dot(v), before);
    const float high = u.dot(v);
    for (int i = 0; i < 20; ++i) sgd_step(u, v, 0.0f, 1.0f, o);
    EXPECT_LT(u.dot(v), high);
}

TEST(implicit_mf, vectors_stay_finite_and_within_the_norm_bound_at_any_learning_rate) {
    // A saturated step scales the vectors by about 1 + lr: at a learning
    // rate the config accepts they used to overflow to inf, then NaN, which
    // spreads to every user and item that meets them.
    for (float lr : {2.0f, 5.0f, 50.0f}) {
        mf_options o;
        o.learning_rate = lr;
        Eigen::VectorXf u = Eigen::VectorXf::Constant(8, 3.0f), v = u;
        for (int i = 0; i < 10'000; ++i) sgd_step(u, v, float(i % 3 == 0), 1.0f, o);
        ASSERT_TRUE(u.allFinite() && v.allFinite()) << "lr " << lr;
        EXPECT_LE(u.head(7).norm(), max_vector_norm * 1.0001f) << "lr " << lr;
        EXPECT_LE(v.norm(), max_vector_norm * 1.0001f) << "lr " << lr;
        EXPECT_EQ(u[7], 3.0f) << "the user's bias slot is never touched";
    }
}

TEST(implicit_mf, users_start_at_zero_with_the_bias_slot_set) {
    mf_options o;
    o.dim = 4;
    float u[4] = {9, 9, 9, 9};
    init_user(u, o);
    EXPECT_EQ(std::vector<float>(u, u + 4), (std::vector<float>{0, 0, 0, 1}));
    o.item_bias = false;
    init_user(u, o);
    EXPECT_EQ(std::vector<float>(u, u + 4), (std::vector<float>{0, 0, 0, 0}));
}

TEST(implicit_mf, feedback_follows_the_event_semantics) {
    events::event e;
    e.type = events::event_type::like;
    EXPECT_EQ(to_feedback(e).target, 1.0f);
    e.type = events::event_type::dislike;
    EXPECT_EQ(to_feedback(e).target, 0.0f);
    EXPECT_GT(to_feedback(e).weight, 0.0f);
    e.type = events::event_type::rating;
    e.value = 5.0;
    EXPECT_EQ(to_feedback(e).target, 1.0f);
    EXPECT_FLOAT_EQ(to_feedback(e).weight, 1.0f);
    e.value = 0.5;
    EXPECT_EQ(to_feedback(e).target, 0.0f);
    EXPECT_FLOAT_EQ(to_feedback(e).weight, 0.8f);
    e.type = events::event_type::watch;
    e.value = 0.6;
    EXPECT_FLOAT_EQ(to_feedback(e).weight, 0.6f);
    e.type = events::event_type::impression;
    EXPECT_EQ(to_feedback(e).weight, 0.0f);
}

TEST(embedding_table, init_is_deterministic_and_rows_are_contiguous) {
    embedding_table t(3);
    float a[3], b[3];
    init_vector("m1", 42, 0.1f, a, 3);
    init_vector("m1", 42, 0.1f, b, 3);
    EXPECT_EQ(std::vector<float>(a, a + 3), std::vector<float>(b, b + 3));
    init_vector("m2", 42, 0.1f, b, 3);
    EXPECT_NE(std::vector<float>(a, a + 3), std::vector<float>(b, b + 3));
    EXPECT_EQ(t.insert("m1", a), 0u);
    EXPECT_EQ(t.insert("m2", b), 1u);
    EXPECT_EQ(t.insert("m1", b), 0u);  // existing rows are not replaced
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.matrix().row(1).transpose(), t.row(1));
    EXPECT_FLOAT_EQ(t.row(0)[2], a[2]);
    EXPECT_EQ(*t.find("m2"), 1u);
    EXPECT_FALSE(t.find("m3"));
}

}  // namespace
}  // namespace marquee::online_models
