// The built binary, driven as a user drives it: help, version, usage errors, completions, man pages.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "support/support.hpp"

namespace httpx::test {
namespace {

ProcessResult httpx(const std::vector<std::string>& args) {
  std::vector<std::string> argv{httpx_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count_lines(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// The subcommands `httpx --help` lists (the lines under "Subcommands:").
std::vector<std::string> listed_subcommands() {
  const auto help = httpx({"--help"}).out;
  std::vector<std::string> names;
  const auto at = help.find("Subcommands:");
  if (at == std::string::npos) return names;
  std::istringstream lines(help.substr(at));
  std::string line;
  std::getline(lines, line);
  const std::regex entry(R"(^  ([a-z][a-z-]*)\s+\S.*$)");
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, entry)) names.push_back(m[1]);
  }
  return names;
}

// Every -x and --long-flag that a --help page shows.
std::set<std::string> flags_in_help(const std::string& help) {
  std::set<std::string> flags;
  const std::regex flag(R"((?:^|[\s,])(--?[A-Za-z][A-Za-z0-9-]*))");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), flag); it != std::sregex_iterator(); ++it) {
    flags.insert((*it)[1]);
  }
  return flags;
}

// A man page with roff escapes removed, so "\-\-help" and "\fB\-h\fR" read as "--help" and "-h".
std::string man_text(const std::string& page) {
  std::string text = std::regex_replace(read_file(source_dir() + "/man/" + page), std::regex(R"(\\f[BIRP])"), "");
  return std::regex_replace(text, std::regex(R"(\\-)"), "-");
}

TEST(CliTest, VersionPrintsNameAndVersion) {
  const auto r = httpx({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("httpx ") + HTTPX_VERSION + "\n");
  EXPECT_EQ(httpx({"-V"}).out, r.out);
}

TEST(CliTest, HelpListsEverySubcommandOnOneLine) {
  const auto r = httpx({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.err.empty());
  const auto subs = listed_subcommands();
  EXPECT_EQ(subs, (std::vector<std::string>{"request", "get", "serve", "bench", "completion"}));
  // A later issue adds proxy; until then it is absent, not empty.
  const auto r2 = httpx({"proxy"});
  EXPECT_EQ(r2.exit_code, 2);
  EXPECT_NE(r2.err.find("unknown command 'proxy'"), std::string::npos) << r2.err;
}

TEST(CliTest, UnknownSubcommandIsOneLineAndExit2) {
  const auto r = httpx({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("'frobnicate'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown command"), std::string::npos) << r.err;
}

TEST(CliTest, UnknownFlagIsOneLineAndExit2) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--bogus"}, {"-Z"}, {"completion", "bash", "--bogus"}}) {
    const auto r = httpx(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(r.out.empty());
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(args.back()), std::string::npos) << r.err;
  }
}

TEST(CliTest, ExtraArgumentAfterSubcommandIsNamedAsSuch) {
  const auto r = httpx({"completion", "bash", "extra"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("unexpected argument 'extra'"), std::string::npos) << r.err;
}

TEST(CliTest, NoArgumentsShowsHelpAsUsageError) {
  const auto r = httpx({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Usage: httpx"), std::string::npos);
}

TEST(CliTest, CompletionRejectsUnknownShell) {
  const auto r = httpx({"completion", "tcsh"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("tcsh"), std::string::npos);
  EXPECT_EQ(httpx({"completion"}).exit_code, 2);
}

TEST(CliTest, CommittedCompletionsMatchTheBinary) {
  const std::vector<std::pair<std::string, std::string>> files{
      {"bash", "completions/httpx.bash"}, {"zsh", "completions/_httpx"}, {"fish", "completions/httpx.fish"}};
  for (const auto& [shell, file] : files) {
    const auto r = httpx({"completion", shell});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, read_file(source_dir() + "/" + file))
        << file << " is stale: run scripts/gen-completions";
  }
}

TEST(CliTest, BashCompletionOffersSubcommandsAndFlags) {
  const std::string script = source_dir() + "/completions/httpx.bash";
  auto complete = [&](const std::string& words, int cword) {
    const std::string cmd = "source '" + script + "'; COMP_WORDS=(" + words + "); COMP_CWORD=" +
                            std::to_string(cword) + "; _httpx; printf '%s\\n' \"${COMPREPLY[@]}\"";
    return run_process({"bash", "-c", cmd}).out;
  };
  EXPECT_EQ(complete("httpx comp", 1), "completion\n");
  EXPECT_EQ(complete("httpx --ver", 1), "--version\n");
  EXPECT_EQ(complete("httpx completion z", 2), "zsh\n");
  EXPECT_EQ(complete("httpx completion --he", 2), "--help\n");
}

// True when `word` stands in `text` as a whole flag or command name (not inside a longer one:
// "-h" does not count as found in "--help", nor "get" in "target").
bool documents(const std::string& text, const std::string& word) {
  // Flags and command names are made of letters, digits and dashes only: no regex escaping needed.
  const std::regex whole("(^|[^A-Za-z0-9-])" + word + "($|[^A-Za-z0-9-])");
  return std::regex_search(text, whole);
}

TEST(CliTest, ManPageCheckMatchesWholeWordsOnly) {
  EXPECT_TRUE(documents("use -h or --help", "-h"));
  EXPECT_FALSE(documents("use --help", "-h"));
  EXPECT_FALSE(documents("a target", "get"));
  EXPECT_TRUE(documents(".B get\n", "get"));
}

TEST(CliTest, EveryFlagInHelpIsInTheManPages) {
  // Top level: man/httpx.1; each subcommand: man/httpx-<name>.1 when it has one, else httpx.1.
  const auto top = man_text("httpx.1");
  for (const auto& flag : flags_in_help(httpx({"--help"}).out)) {
    EXPECT_TRUE(documents(top, flag)) << flag << " is not documented in man/httpx.1";
  }
  // Subcommands documented on a sibling's page.
  const std::map<std::string, std::string> shared_pages = {{"get", "httpx-request.1"}};
  for (const auto& sub : listed_subcommands()) {
    const auto shared = shared_pages.find(sub);
    const std::string name = shared != shared_pages.end() ? shared->second : "httpx-" + sub + ".1";
    std::ifstream own(source_dir() + "/man/" + name);
    const auto page = own ? man_text(name) : top;
    EXPECT_TRUE(documents(page, sub)) << sub << " is not documented";
    for (const auto& flag : flags_in_help(httpx({sub, "--help"}).out)) {
      EXPECT_TRUE(documents(page, flag)) << flag << " of '" << sub << "' is not in its man page";
    }
  }
}

}  // namespace
}  // namespace httpx::test
