/// `-H 'Name: value'` command-line headers, shared by every subcommand that sends or adds headers.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <httpx/http.hpp>

namespace httpx::app {

/// -H lines as Node's headers object: a name repeated in any case becomes one header with every
/// value. Spaces and tabs around names and values are trimmed.
http::HeaderList header_list(const std::vector<std::string>& lines);

/// The CLI11 check of one -H line: it must hold a ':'.
CLI::Validator header_line_check();

}  // namespace httpx::app
