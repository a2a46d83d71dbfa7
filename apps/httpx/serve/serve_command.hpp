/// `httpx serve`: an HTTP server on libhttp. Its flags are createServer's options.
#pragma once

#include "httpx/cli.hpp"

namespace httpx::app {

/// Adds the `serve` subcommand and its flags to `cli`.
void add_serve_command(Cli& cli);

}  // namespace httpx::app
