#include "events/movielens.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <string>

namespace marquee::events {

core::result<std::vector<event>> read_movielens_ratings(std::istream& in) {
    std::string line;
    if (!std::getline(in, line) || line.rfind("userId,movieId,rating,timestamp", 0) != 0)
        return core::error{"invalid_value", "not a MovieLens ratings.csv (header missing)"};
    std::vector<event> out;
    std::size_t line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        std::string_view fields[4];
        std::string_view rest = line;
        for (int f = 0; f < 4; ++f) {
            auto comma = rest.find(',');
            if ((f < 3) == (comma == std::string_view::npos))
                return core::error{"invalid_value", "ratings.csv line " + std::to_string(line_no) + ": expected 4 fields"};
            fields[f] = rest.substr(0, comma);
            rest = f < 3 ? rest.substr(comma + 1) : std::string_view();
        }
        double rating = 0;
        std::int64_t seconds = 0;
        // Each number whole: from_chars stops at the first character it
        // cannot use ("4.5abc" would read as 4.5).
        auto whole = [](std::string_view field, auto& value) {
            const auto [end, err] = std::from_chars(field.data(), field.data() + field.size(), value);
            return err == std::errc() && end == field.data() + field.size();
        };
        if (!whole(fields[2], rating) || !whole(fields[3], seconds) || fields[0].empty() || fields[1].empty())
            return core::error{"invalid_value", "ratings.csv line " + std::to_string(line_no) + ": bad number"};
        if (seconds < 0 || seconds > std::numeric_limits<std::int64_t>::max() / 1000)
            return core::error{"invalid_value", "ratings.csv line " + std::to_string(line_no) +
                                                    ": timestamp must be seconds since 1970, at least 0"};
        // The range the event decoder enforces (from_chars also reads "inf" and "nan").
        if (!(rating >= 0.0 && rating <= 5.0))
            return core::error{"invalid_value",
                               "ratings.csv line " + std::to_string(line_no) + ": rating must be in [0, 5]"};
        event e;
        e.type = event_type::rating;
        e.user_id = "u" + std::string(fields[0]);
        e.item_id = "m" + std::string(fields[1]);
        e.value = rating;
        e.ts_ms = seconds * 1000;
        out.push_back(std::move(e));
    }
    std::stable_sort(out.begin(), out.end(), [](const event& a, const event& b) { return a.ts_ms < b.ts_ms; });
    return out;
}

core::result<std::vector<catalog_item>> read_movielens_movies(std::istream& in) {
    std::string line;
    if (!std::getline(in, line) || line.rfind("movieId,title,genres", 0) != 0)
        return core::error{"invalid_value", "not a MovieLens movies.csv (header missing)"};
    std::vector<catalog_item> out;
    std::size_t line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        auto bad = [&](const char* what) {
            return core::error{"invalid_value", "movies.csv line " + std::to_string(line_no) + ": " + what};
        };
        const auto first = line.find(',');
        if (first == std::string::npos || first == 0) return bad("expected 3 fields");
        catalog_item item;
        item.item_id = "m" + line.substr(0, first);
        std::size_t at = first + 1;
        if (at < line.size() && line[at] == '"') {
            // RFC 4180 quoting: "" inside quotes is one quote.
            ++at;
            for (;;) {
                if (at >= line.size()) return bad("unterminated quoted title");
                if (line[at] == '"') {
                    if (at + 1 < line.size() && line[at + 1] == '"') {
                        item.title += '"';
                        at += 2;
                        continue;
                    }
                    ++at;
                    break;
                }
                item.title += line[at++];
            }
            if (at >= line.size() || line[at] != ',') return bad("expected 3 fields");
        } else {
            const auto comma = line.rfind(',');
            if (comma == first) return bad("expected 3 fields");
            item.title = line.substr(at, comma - at);
            at = comma;
        }
        const std::string_view genres = std::string_view(line).substr(at + 1);
        if (genres != "(no genres listed)") {
            std::string_view rest = genres;
            while (!rest.empty()) {
                const auto bar = rest.find('|');
                const auto g = rest.substr(0, bar);
                if (!g.empty()) item.genres.emplace_back(g);
                rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
            }
        }
        out.push_back(std::move(item));
    }
    return out;
}

namespace {

template <class Read>
auto load_file(const std::string& path, Read read) -> decltype(read(std::declval<std::istream&>())) {
    std::ifstream in(path);
    if (!in) return core::error{"io", "cannot open " + path};
    auto r = read(in);
    if (!r) return core::error{r.error().reason, path + ": " + r.error().message};
    return r;
}

}  // namespace

core::result<std::vector<event>> load_movielens_ratings(const std::string& path, std::size_t limit) {
    auto r = load_file(path, [](std::istream& in) { return read_movielens_ratings(in); });
    if (r && limit > 0 && r.value().size() > limit) r.value().resize(limit);
    return r;
}

core::result<std::vector<catalog_item>> load_movielens_movies(const std::string& path) {
    return load_file(path, [](std::istream& in) { return read_movielens_movies(in); });
}

}  // namespace marquee::events
