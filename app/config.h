// config: every setting of the `marquee` binary, from one table of dotted
// keys with a doc line and a default each. Sources, lowest precedence first:
// built-in defaults < TOML file < MARQUEE_* environment < command-line --set.
// Any `kafka.<key>` is passed to librdkafka verbatim.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "serve/api.h"
#include "serve/http_server.h"
#include "state/store.h"
#include "stream/batch_applier.h"
#include "stream/ingest_loop.h"
#include "stream/kafka_options.h"

namespace marquee::app {

struct config {
    stream::kafka_options kafka;
    stream::ingest_options ingest;
    stream::applier_options applier;
    state::store_options state{.path = "marquee-data"};
    serve::http_options http;
    serve::api_options api;
    engine::model_options model;
    std::string log_level = "info";
    std::string log_format = "text";
};

struct config_key {
    std::string_view name;
    std::string_view doc;
};
// The documented keys (kafka.* passthrough keys come on top of these).
const std::vector<config_key>& config_keys();

// Sets one key; throws std::invalid_argument naming the key on a bad name or value.
void set(config& c, std::string_view key, std::string_view value);
// Current value of a documented key, as text.
std::string get(const config& c, std::string_view key);

// Applies a TOML file (tables become dotted prefixes); throws on errors.
void apply_toml_file(config& c, const std::string& path);
// Applies MARQUEE_<SECTION>__<KEY> variables: "__" separates the section,
// and within the kafka section "_" becomes "." (MARQUEE_KAFKA__SASL_MECHANISMS
// -> kafka.sasl.mechanisms). MARQUEE_BROKERS is kafka.bootstrap.servers.
void apply_environment(config& c, char** environ);

// Rules between settings, checked once every source is applied: the events
// topic named, the dead-letter topic not one ingest reads (each rejected
// event would come back forever), api.default_k within api.max_k, and
// http.address a numeric IP address. Throws std::invalid_argument naming
// the keys.
void validate(const config& c);

// `key = value` lines of every setting, secrets redacted.
std::string print(const config& c);

}  // namespace marquee::app
