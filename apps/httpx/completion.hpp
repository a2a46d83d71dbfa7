/// Shell completion scripts generated from the CLI11 definition (`httpx completion SHELL`).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

namespace httpx::app {

/// The completion script for `shell` ("bash", "zsh" or "fish") of the program `app` describes.
/// Throws CLI::ValidationError for another shell name.
std::string completion_script(const CLI::App& app, std::string_view shell);

}  // namespace httpx::app
