/// `httpx bench URL`: a load generator over libhttp's Agent and ClientRequest, and
/// `httpx bench merge FILE...`: the report of several runs' JSON added up.
#pragma once

#include "httpx/cli.hpp"

namespace httpx::app {

/// Adds the `bench` subcommand (and `bench merge`) and their flags to `cli`.
void add_bench_command(Cli& cli);

}  // namespace httpx::app
