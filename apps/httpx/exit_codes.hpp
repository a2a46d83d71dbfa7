/// The one table of httpx's exit codes (documented in man/httpx.1 and the README).
#pragma once

namespace httpx::app {

/// Process exit codes. Transport-specific codes arrive with the client front-ends.
enum ExitCode : int {
  kExitOk = 0,       ///< The job was done.
  kExitFailure = 1,  ///< The job ran and failed (a runtime error).
  kExitUsage = 2,    ///< Bad usage: an unknown command or flag, a bad flag value.
};

}  // namespace httpx::app
