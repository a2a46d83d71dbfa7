/// The whole httpx command line in one place: its definitions are `--help`, and the completions
/// and the man-page check are derived from them.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace httpx::app {

/// What a subcommand needs to run after parsing; each subcommand registers its runner here.
/// Parse callbacks refer to it, so it is made on the heap and never moved.
struct Cli {
  std::unique_ptr<CLI::App> app;
  /// Set by the subcommand that was chosen; writes data to `out`, diagnostics to `err`, and
  /// returns the exit code.
  std::function<int(std::ostream& out, std::ostream& err)> run;
};

/// Builds the complete CLI11 definition of httpx (every subcommand and flag).
std::unique_ptr<Cli> make_cli();

/// Parses `args` (without the program name) and runs the chosen subcommand. Usage errors print one
/// line on `err` and return 2; `--help` and `--version` print on `out` and return 0.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace httpx::app
