#include "bandits/slate.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/hash.h"
#include "core/rng.h"

namespace marquee::bandits {

candidate_meta meta_from_features(const feature_vector& x, genre_mask genres) {
    candidate_meta m;
    m.genres = genres;
    m.new_release = x[3] > 0.5;
    m.age_days = x[4] > 0.0 ? -30.0 * std::log(x[4]) : 1e9;
    return m;
}

linucb_scorer::linucb_scorer(const linucb_policy& policy, std::span<const feature_vector> candidates, double ts_v)
    : policy_(policy), candidates_(candidates), v_(ts_v >= 0.0 ? ts_v : policy.options().alpha) {}

void linucb_scorer::score(std::span<double> mean, std::span<double> bonus) const {
    // All candidates at once (one n x d times d x d product) rather than a
    // mat-vec each: the same values as expected_reward() and bonus().
    using rows = Eigen::Matrix<double, Eigen::Dynamic, feature_dim, Eigen::RowMajor>;
    static_assert(sizeof(feature_vector) == feature_dim * sizeof(double), "feature vectors are packed");
    const auto n = Eigen::Index(candidates_.size());
    const Eigen::Map<const rows> x(candidates_.empty() ? nullptr : candidates_.front().data(), n, feature_dim);
    thread_local rows xa;
    xa.noalias() = x * policy_.a_inverse();
    Eigen::Map<Eigen::VectorXd>(mean.data(), n).noalias() = x * policy_.theta();
    const double alpha = policy_.options().alpha;
    for (Eigen::Index i = 0; i < n; ++i)
        bonus[std::size_t(i)] = alpha * std::sqrt(std::max(0.0, xa.row(i).dot(x.row(i))));
}

void linucb_scorer::sample(std::span<double> out, normal_source& normal) const {
    // The production model keeps A^-1, not A's factor: factor A^-1 = L L'
    // once per view (O(d^3), d = 8); then theta + v L eps ~ N(theta, v^2 A^-1).
    if (!factored_) {
        const Eigen::LLT<linucb_policy::matrix> llt(policy_.a_inverse());
        if (llt.info() == Eigen::Success) {
            cov_factor_ = llt.matrixL();
        } else {
            // Rounding made A^-1 indefinite (never seen; Sherman-Morrison keeps
            // it positive definite in practice): keep the marginal variances.
            cov_factor_ = policy_.a_inverse().diagonal().cwiseMax(0.0).cwiseSqrt().asDiagonal();
        }
        factored_ = true;
    }
    feature_vector eps;
    for (int i = 0; i < feature_dim; ++i) eps[i] = normal();
    const feature_vector theta = policy_.theta() + v_ * (cov_factor_.triangularView<Eigen::Lower>() * eps).eval();
    for (std::size_t i = 0; i < candidates_.size(); ++i) out[i] = theta.dot(candidates_[i]);
}

namespace {

// Stream ids mixed into the request seed, so epsilon coins, choosing draws
// and propensity draws never share random numbers.
constexpr std::uint64_t choose_stream = 0x43484f4f5345ULL;     // "CHOOSE"
constexpr std::uint64_t estimate_stream = 0x455354494d41ULL;   // "ESTIMA"

double effective_epsilon(const slate_options& o) {
    switch (o.policy) {
    case policy_kind::greedy: return 0.0;
    case policy_kind::uniform: return 1.0;
    default: return std::clamp(o.epsilon, 0.0, 1.0);
    }
}

int draw_count(const slate_options& o) { return std::max(o.thompson_propensity_draws, 1); }

// Scores shared by every slot: mean, bonus, weighted UCB and, for Thompson
// sampling, the M propensity draws (row m at draws[m * n]).
void prepare(const scorer& model, const slate_options& o, const slate_inputs& in, slate_workspace& ws) {
    const std::size_t n = model.size();
    ws.mean.resize(n);
    ws.bonus.resize(n);
    ws.ucb.resize(n);
    ws.weight.resize(n);
    ws.draw.resize(n);
    ws.penalty.assign(n, 0.0);
    model.score(ws.mean, ws.bonus);
    const bool has_meta = in.meta.size() == n;
    for (std::size_t i = 0; i < n; ++i) {
        const bool fresh = has_meta && in.meta[i].new_release && in.meta[i].age_days <= o.new_release.max_age_days;
        ws.weight[i] = fresh ? o.new_release.exploration_weight : 1.0;
        ws.ucb[i] = ws.mean[i] + ws.weight[i] * ws.bonus[i];
    }
    if (o.policy != policy_kind::thompson) return;
    if (!model.can_sample())
        throw std::invalid_argument("policy_kind::thompson needs a scorer with a posterior");
    const int m_draws = draw_count(o);
    ws.draws.resize(std::size_t(m_draws) * n);
    normal_source normal(core::mix64(in.seed, estimate_stream));
    for (int m = 0; m < m_draws; ++m) {
        std::span<double> row(ws.draws.data() + std::size_t(m) * n, n);
        model.sample(row, normal);
        for (std::size_t i = 0; i < n; ++i) row[i] = ws.mean[i] + ws.weight[i] * (row[i] - ws.mean[i]);
    }
}

// Candidate c's score `v` as a slot ranks it: MMR-adjusted when MMR is on.
double mmr_adjusted(double v, std::uint32_t c, const std::vector<double>& penalty, const diversity_options& d) {
    return d.mmr() ? d.mmr_lambda * v - penalty[c] : v;
}

// Argmax over `eligible` of the MMR-adjusted `v`; ties go to the lower index
// (eligible is kept in increasing order). A NaN score never wins: first in
// line it would have, as nothing compares greater than NaN.
std::uint32_t argmax(const double* v, const std::vector<std::uint32_t>& eligible, const std::vector<double>& penalty,
                     const diversity_options& d) {
    std::uint32_t best = eligible.front();
    double best_v = mmr_adjusted(v[best], best, penalty, d);
    if (std::isnan(best_v)) best_v = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 1; j < eligible.size(); ++j) {
        const std::uint32_t c = eligible[j];
        const double x = mmr_adjusted(v[c], c, penalty, d);
        if (x > best_v) best = c, best_v = x;
    }
    return best;
}

// Fills ws.eligible (and its flags); true when the genre cap had to be lifted.
bool collect_eligible(const slate_options& o, const slate_inputs& in, const genre_counts& counts,
                      slate_workspace& ws) {
    ws.eligible.clear();
    if (o.diversity.caps() && in.meta.size() == ws.mean.size())
        for (auto c : ws.remaining)
            if (counts.allows(in.meta[c].genres, o.diversity.max_per_genre)) ws.eligible.push_back(c);
    const bool lifted = ws.eligible.empty();
    if (lifted) ws.eligible.assign(ws.remaining.begin(), ws.remaining.end());
    ws.is_eligible.assign(ws.mean.size(), 0);
    for (auto c : ws.eligible) ws.is_eligible[c] = 1;
    return lifted && o.diversity.caps();
}

// The deterministic ranking score of the policy (not used by thompson/uniform).
const double* ranking_scores(const slate_options& o, const slate_workspace& ws) {
    return o.policy == policy_kind::ucb ? ws.ucb.data() : ws.mean.data();
}

// Wins of `c` among the M propensity draws over the current eligible set.
// Each draw's argmax is cached across slots: while the eligible set only
// shrinks and no MMR penalty moves the scores, a draw's argmax stays its
// argmax until it is picked or capped out, so only those draws are rescanned.
int thompson_wins(std::uint32_t c, bool cache_valid, const slate_options& o, slate_workspace& ws) {
    const std::size_t n = ws.mean.size();
    const int m_draws = draw_count(o);
    if (ws.draw_best.size() != std::size_t(m_draws)) {
        ws.draw_best.assign(std::size_t(m_draws), 0);
        cache_valid = false;
    }
    int wins = 0;
    for (int m = 0; m < m_draws; ++m) {
        auto& best = ws.draw_best[std::size_t(m)];
        if (!cache_valid || !ws.is_eligible[best])
            best = argmax(ws.draws.data() + std::size_t(m) * n, ws.eligible, ws.penalty, o.diversity);
        wins += best == c;
    }
    return wins;
}

// Genre counts and MMR penalties after `c` joins the slate.
void note_pick(std::uint32_t c, const slate_options& o, const slate_inputs& in, genre_counts& counts,
               slate_workspace& ws) {
    if (in.meta.size() != ws.mean.size()) return;
    counts.add(in.meta[c].genres);
    if (!o.diversity.mmr()) return;
    const double w = 1.0 - o.diversity.mmr_lambda;
    for (auto r : ws.remaining)
        ws.penalty[r] = std::max(ws.penalty[r], w * genre_similarity(in.meta[r].genres, in.meta[c].genres));
}

// Valid insertions: slot inside the slate, candidate in range, each slot and
// candidate used once (first wins).
std::vector<forced_slot> valid_forced(const slate_inputs& in, std::size_t n, std::size_t k) {
    std::vector<forced_slot> out;
    for (const auto& f : in.forced) {
        if (f.slot < 0 || std::size_t(f.slot) >= k || f.candidate >= n) continue;
        if (std::any_of(out.begin(), out.end(),
                        [&](const auto& g) { return g.slot == f.slot || g.candidate == f.candidate; }))
            continue;
        out.push_back(f);
    }
    return out;
}

}  // namespace

void fill_slate(const scorer& model, const slate_options& o, const slate_inputs& in, slate_workspace& ws,
                std::vector<slot>& out) {
    out.clear();
    const std::size_t n = model.size();
    const std::size_t k = std::min<std::size_t>(std::max(o.k, 0), n);
    if (k == 0) return;
    prepare(model, o, in, ws);
    const auto forced = valid_forced(in, n, k);
    ws.remaining.clear();
    for (std::uint32_t i = 0; i < n; ++i)
        if (std::none_of(forced.begin(), forced.end(), [&](const auto& f) { return f.candidate == i; }))
            ws.remaining.push_back(i);

    const double eps = effective_epsilon(o);
    const double m_draws = draw_count(o);
    core::splitmix64 rng(in.seed);
    normal_source choose_normal(core::mix64(in.seed, choose_stream));
    genre_counts counts;
    bool lifted = false, first_scan = true;
    out.reserve(k);
    for (std::size_t s = 0; s < k; ++s) {
        auto f = std::find_if(forced.begin(), forced.end(), [&](const auto& g) { return std::size_t(g.slot) == s; });
        if (f != forced.end()) {
            slot chosen;
            chosen.candidate = f->candidate;
            chosen.score = ws.ucb[f->candidate];
            chosen.expected = ws.mean[f->candidate];
            chosen.propensity = 1.0;
            chosen.forced = true;
            out.push_back(chosen);
            note_pick(f->candidate, o, in, counts, ws);
            continue;
        }
        const bool now_lifted = collect_eligible(o, in, counts, ws);
        // The eligible set only shrinks, except when the cap is first lifted.
        const bool cache_valid = !first_scan && !o.diversity.mmr() && (lifted || !now_lifted);
        lifted = now_lifted;
        first_scan = false;
        const double e = double(ws.eligible.size());

        const double* ranked = ranking_scores(o, ws);
        std::uint32_t target = ws.eligible.front();
        if (o.policy == policy_kind::thompson) {
            model.sample(ws.draw, choose_normal);
            for (std::size_t i = 0; i < n; ++i) ws.draw[i] = ws.mean[i] + ws.weight[i] * (ws.draw[i] - ws.mean[i]);
            ranked = ws.draw.data();
        }
        if (o.policy != policy_kind::uniform) target = argmax(ranked, ws.eligible, ws.penalty, o.diversity);
        std::uint32_t pick = target;
        // Same coin order as before the generalisation: one uniform, then the index.
        if (o.policy == policy_kind::uniform || (eps > 0.0 && rng.uniform() < eps))
            pick = ws.eligible[std::size_t(rng.below(ws.eligible.size()))];

        slot chosen;
        chosen.candidate = pick;
        chosen.score = ranked[pick];
        chosen.expected = ws.mean[pick];
        switch (o.policy) {
        case policy_kind::uniform: chosen.propensity = 1.0 / e; break;
        case policy_kind::thompson: {
            const int wins = thompson_wins(pick, cache_valid, o, ws);
            double p_hat = double(wins) / m_draws;
            if (wins == 0 && eps == 0.0) p_hat = 1.0 / m_draws;
            chosen.propensity = (1.0 - eps) * p_hat + eps / e;
            chosen.propensity_se = (1.0 - eps) * std::sqrt(p_hat * (1.0 - p_hat) / m_draws);
            break;
        }
        default: chosen.propensity = (1.0 - eps) * (pick == target ? 1.0 : 0.0) + eps / e;
        }
        // Strictly worse on the exploit estimate, as the slot ranks it (less
        // any MMR penalty: diversity is not exploration); ties (e.g. an
        // untrained model) are not exploration either.
        const auto exploit = [&](std::uint32_t c) { return mmr_adjusted(ws.mean[c], c, ws.penalty, o.diversity); };
        chosen.explored = exploit(pick) < exploit(argmax(ws.mean.data(), ws.eligible, ws.penalty, o.diversity));
        out.push_back(chosen);
        ws.remaining.erase(std::find(ws.remaining.begin(), ws.remaining.end(), pick));
        note_pick(pick, o, in, counts, ws);
    }
}

std::vector<slot> fill_slate(const scorer& model, const slate_options& options, const slate_inputs& inputs) {
    slate_workspace ws;
    std::vector<slot> out;
    fill_slate(model, options, inputs, ws, out);
    return out;
}

std::vector<double> first_slot_distribution(const scorer& model, const slate_options& o, const slate_inputs& in) {
    const std::size_t n = model.size();
    std::vector<double> p(n, 0.0);
    if (n == 0 || o.k <= 0) return p;
    slate_workspace ws;
    prepare(model, o, in, ws);
    for (const auto& f : valid_forced(in, n, std::min<std::size_t>(std::size_t(o.k), n)))
        if (f.slot == 0) {
            p[f.candidate] = 1.0;
            return p;
        }
    ws.remaining.clear();
    for (std::uint32_t i = 0; i < n; ++i) ws.remaining.push_back(i);
    // Candidates forced into later slots are not available for slot 0.
    for (const auto& f : valid_forced(in, n, std::min<std::size_t>(std::size_t(o.k), n)))
        ws.remaining.erase(std::find(ws.remaining.begin(), ws.remaining.end(), f.candidate));
    genre_counts counts;
    collect_eligible(o, in, counts, ws);
    const double eps = effective_epsilon(o), e = double(ws.eligible.size());
    for (auto c : ws.eligible) p[c] = eps / e;
    if (o.policy == policy_kind::uniform) return p;
    if (o.policy == policy_kind::thompson) {
        const int m_draws = draw_count(o);
        for (int m = 0; m < m_draws; ++m)
            p[argmax(ws.draws.data() + std::size_t(m) * n, ws.eligible, ws.penalty, o.diversity)] +=
                (1.0 - eps) / m_draws;
        return p;
    }
    p[argmax(ranking_scores(o, ws), ws.eligible, ws.penalty, o.diversity)] += 1.0 - eps;
    return p;
}

std::vector<slot> choose_slate(const linucb_policy& policy, std::span<const feature_vector> candidates,
                               const slate_options& options, std::uint64_t seed) {
    const linucb_scorer view(policy, candidates);
    return fill_slate(view, options, slate_inputs{.meta = {}, .forced = {}, .seed = seed});
}

}  // namespace marquee::bandits
