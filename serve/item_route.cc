// GET /v1/items/{item_id}/similar: co-visitation neighbours from the
// snapshot, topped up with embedding nearest neighbours (cosine).
#include <algorithm>
#include <cmath>

#include "core/json_writer.h"
#include "core/utf8.h"
#include "serve/api_internal.h"

namespace marquee::serve {

response api::impl::similar(const request& req, const target& t) {
    const std::string& item_id = t.segments[2];
    // Echoed in the answer (and in a 404's message), which must be JSON.
    if (item_id.empty() || !core::valid_utf8(item_id))
        return json_error(http::status::bad_request, "invalid_parameter", "item_id must be non-empty UTF-8",
                          req.version());
    const auto parsed_k = query_k(req, t);
    if (auto* r = std::get_if<response>(&parsed_k)) return std::move(*r);
    const int k = std::get<int>(parsed_k);
    auto snapshot = snapshots.load();
    if (!snapshot || !snapshot->index)
        return json_error(http::status::service_unavailable, "not_ready", "model not loaded yet", req.version());
    const auto& s = *snapshot;
    auto found = s.index->find(item_id);
    if (!found || *found >= s.item_count())
        return json_error(http::status::not_found, "not_found", "unknown item '" + item_id + "'", req.version());
    const std::uint32_t row = *found;
    const std::size_t n = s.item_count();

    struct pick {
        std::uint32_t row;
        double score;
        std::string_view reason;
    };
    std::vector<pick> picks;
    std::vector<std::uint8_t> taken(n, 0);
    taken[row] = 1;
    auto eligible = [&](std::uint32_t r) {
        return r < n && !taken[r] && (r >= s.unavailable.size() || s.unavailable[r] == 0);
    };
    for (const auto& nb : s.neighbours(row)) {
        if (picks.size() == std::size_t(k)) break;
        if (!eligible(nb.row)) continue;
        taken[nb.row] = 1;
        picks.push_back({nb.row, double(nb.count), "covisit"});
    }
    // Top up by cosine similarity of item embeddings.
    const auto rows = std::min<std::size_t>(n, std::size_t(s.embeddings.rows()));
    if (picks.size() < std::size_t(k) && row < rows && s.dim > 0) {
        const Eigen::VectorXf q = s.embeddings.row(row).transpose();
        const float qn = q.norm();
        std::vector<pick> pool;
        if (qn > 0.0f) {
            for (std::uint32_t r = 0; r < rows; ++r) {
                if (!eligible(r)) continue;
                const float rn = s.embeddings.row(r).norm();
                if (rn <= 0.0f) continue;
                pool.push_back({r, double(s.embeddings.row(r).dot(q)) / (double(qn) * double(rn)), "embedding"});
            }
        }
        const std::size_t want = std::min(pool.size(), std::size_t(k) - picks.size());
        std::partial_sort(pool.begin(), pool.begin() + want, pool.end(), [](const pick& a, const pick& b) {
            return a.score != b.score ? a.score > b.score : a.row < b.row;
        });
        picks.insert(picks.end(), pool.begin(), pool.begin() + want);
    }

    std::string body = "{\"item_id\":";
    core::append_json_string(body, item_id);
    body += ",\"model_version\":" + std::to_string(s.version) + ",\"items\":[";
    for (std::size_t i = 0; i < picks.size(); ++i) {
        if (i) body += ",";
        body += "{\"item_id\":";
        core::append_json_string(body, s.index->ids[picks[i].row]);
        if (picks[i].row < s.index->titles.size() && !s.index->titles[picks[i].row].empty()) {
            body += ",\"title\":";
            core::append_json_string(body, s.index->titles[picks[i].row]);
        }
        body += ",\"score\":";
        core::append_json_number(body, picks[i].score);
        body += ",\"reason\":";
        core::append_json_string(body, picks[i].reason);
        body += "}";
    }
    body += "]}";
    return json_ok(std::move(body), req.version());
}

}  // namespace marquee::serve
