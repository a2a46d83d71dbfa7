/// `httpx request METHOD URL` and `httpx get URL`: one HTTP request through libhttp's client
/// (http.request with an Agent); the flags are the request's and the agent's options.
#pragma once

#include "httpx/cli.hpp"

namespace httpx::app {

/// Adds the `request` and `get` subcommands and their flags to `cli`.
void add_request_commands(Cli& cli);

}  // namespace httpx::app
