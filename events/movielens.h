// MovieLens ratings.csv -> rating events in timestamp order, the demo and
// evaluation stream. Users become "u<userId>", movies "m<movieId>".
#pragma once

#include <istream>
#include <vector>

#include "core/result.h"
#include "events/event.h"

namespace marquee::events {

// Reads `userId,movieId,rating,timestamp` rows (header line required) and
// returns them as rating events sorted by time (stable for equal times).
core::result<std::vector<event>> read_movielens_ratings(std::istream& in);

}  // namespace marquee::events
