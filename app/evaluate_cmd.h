// evaluate_cmd: the `marquee evaluate ...` subcommands (offline model
// quality). Each subcommand registers its own options and callback under one
// `evaluate` parent, so adding one (replay, ope, ...) is one more add_* call
// in add_evaluate_commands and touches nothing else.
// Not thread-safe; call once while building the CLI in main().
#pragma once

#include <CLI/CLI.hpp>

namespace marquee::app {

// Adds `evaluate` and its subcommands to `cli`. A failing subcommand prints
// why to stderr and exits 2 (via CLI::RuntimeError, which CLI11_PARSE returns).
void add_evaluate_commands(CLI::App& cli);

}  // namespace marquee::app
