// The command line of httpx. Every flag is defined here, once; its description is the --help text.
#include "httpx/cli.hpp"

#include <fmt/format.h>

#include <ostream>

#include "httpx/bench/bench_command.hpp"
#include "httpx/completion.hpp"
#include "httpx/exit_codes.hpp"
#include "httpx/request/request_command.hpp"
#include "httpx/serve/serve_command.hpp"

namespace httpx::app {
namespace {

constexpr const char* kDescription =
    "httpx: an HTTP toolkit for the shell and for CI pipelines (client, server, proxy, load "
    "generator), built on libhttp, a C++ implementation of Node's http module.";

void add_completion(Cli& cli) {
  auto* sub = cli.app->add_subcommand("completion", "Print the shell completion script for bash, zsh or fish");
  auto shell = std::make_shared<std::string>();
  sub->add_option("shell", *shell, "The shell: bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  sub->callback([&cli, shell] {
    cli.run = [&cli, shell](std::ostream& out, std::ostream&) -> int {
      // Printed on stdout, so `httpx completion bash > /etc/bash_completion.d/httpx` works.
      out << completion_script(*cli.app, *shell);
      return kExitOk;
    };
  });
}

// CLI11's messages, reduced to the single line that names the offending input.
std::string usage_line(const CLI::ParseError& e, bool after_subcommand, const std::string& help) {
  if (const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&e)) {
    (void)extras;
    const std::string what = e.what();
    const auto colon = what.find(": ");
    std::string first = colon == std::string::npos ? what : what.substr(colon + 2);
    if (const auto space = first.find(' '); space != std::string::npos) first.resize(space);
    if (!first.empty() && first[0] == '-') return fmt::format("httpx: unknown option '{}' (see '{}')", first, help);
    if (after_subcommand) return fmt::format("httpx: unexpected argument '{}' (see '{}')", first, help);
    return fmt::format("httpx: unknown command '{}' (see '{}')", first, help);
  }
  return fmt::format("httpx: {} (see '{}')", e.what(), help);
}

}  // namespace

std::unique_ptr<Cli> make_cli() {
  auto cli = std::make_unique<Cli>();
  cli->app = std::make_unique<CLI::App>(kDescription, "httpx");
  cli->app->set_version_flag("-V,--version", std::string("httpx ") + HTTPX_VERSION, "Print the version and exit");
  cli->app->set_help_flag("-h,--help", "Print this help and exit");
  cli->app->require_subcommand(0, 1);
  cli->app->fallthrough(false);
  add_request_commands(*cli);
  add_serve_command(*cli);
  add_bench_command(*cli);
  add_completion(*cli);
  return cli;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const auto made = make_cli();
  Cli& cli = *made;
  // CLI11 parses a reversed argument vector.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    cli.app->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << cli.app->help();
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    out << cli.app->version() << '\n';
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      // CallForAllHelp and kin; help() shows the chosen subcommand's page.
      out << cli.app->help();
      return kExitOk;
    }
    const auto subs = cli.app->get_subcommands();
    const std::string help = subs.empty() ? "httpx --help" : "httpx " + subs.front()->get_name() + " --help";
    err << usage_line(e, !subs.empty(), help) << '\n';
    return kExitUsage;
  }
  if (!cli.run) {
    // No subcommand: show what there is, as a usage error (like git and curl without arguments).
    err << cli.app->help();
    return kExitUsage;
  }
  return cli.run(out, err);
}

}  // namespace httpx::app
