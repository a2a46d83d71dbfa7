// httpx's entry point: build the CLI, dispatch, map errors to exit codes. Nothing else.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "httpx/cli.hpp"
#include "httpx/exit_codes.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return httpx::app::run_cli(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    // The only catch-all: a failure nobody expected still ends with one line, not a crash.
    std::cerr << "httpx: " << e.what() << '\n';
    return httpx::app::kExitFailure;
  }
}
