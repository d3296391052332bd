// MovieLens ratings.csv -> rating events in timestamp order, the demo and
// evaluation stream. Users become "u<userId>", movies "m<movieId>".
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "core/result.h"
#include "events/catalog_decoder.h"
#include "events/event.h"

namespace marquee::events {

// Reads `userId,movieId,rating,timestamp` rows (header line required) and
// returns them as rating events sorted by time (stable for equal times).
core::result<std::vector<event>> read_movielens_ratings(std::istream& in);

// Reads `movieId,title,genres` rows (header required; titles may be quoted
// CSV) as catalog items "m<movieId>", genres split on '|', "(no genres
// listed)" = none. No release time: MovieLens has only the year in the
// title, and inventing a date from it would be a guess.
core::result<std::vector<catalog_item>> read_movielens_movies(std::istream& in);

// The same from files (ratings.csv, movies.csv); errors name the file.
// `limit` keeps the first ratings in time order (0: all).
core::result<std::vector<event>> load_movielens_ratings(const std::string& path, std::size_t limit = 0);
core::result<std::vector<catalog_item>> load_movielens_movies(const std::string& path);

}  // namespace marquee::events
