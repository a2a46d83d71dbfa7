// Differential test for the HTTP client: a scripted raw TCP server (tests/oracle/canned_server.js)
// answers canned bytes, case by case, to Node's client (tests/oracle/client_request.js) and to
// `httpx request ... --format json`; both must print the same JSON report, or fail alike.
//
// The cases live in tests/oracle/client_cases.json (one object per case: name, method,
// requestHeaders, requestBody, options, script, note). They are read when the binary starts, so
// each case is its own test (and its own ctest test): Canned/ClientDifferentialTest.SameResult/<name>
// with the name's '-' as '_'. The suite starts one canned server (SetUpTestSuite) and stops it
// by PID (TearDownTestSuite); each test runs Node's client, then the peer, one after the other
// against http://127.0.0.1:PORT/case/<name>: several cases are timed (a pause between writes, an
// RST after data), so within the binary no other client talks to the server meanwhile.
//
// Compared, member by member: the exit status (0: a complete response and no error, 1 otherwise);
// request.method, request.url (both print the URL as given), request.headers; response (null, or
// httpVersion, statusCode, statusMessage, headers, rawHeaders, trailers, rawTrailers, body); error
// (null, or code and message); and which members each object has. Not compared: the contents of
// `timings` (wall-clock milliseconds, which differ between any two runs, Node against Node
// included). Objects compare as JSON objects, without member order (`headers`, `trailers`); arrays
// in order (`rawHeaders`, `rawTrailers`), which is where the order of the fields on the wire shows.
//
// A case whose difference is understood and accepted gets an entry in known_differences() (case
// name and reason): its difference is then printed with the reason instead of failing.
//
// Environment:
//   HTTPX_DIFF_PEER=node     the peer is Node's client again (validates the harness itself)
//   HTTPX_DIFF_VERBOSE=1     print both reports of every case, alike or not
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/child.hpp"
#include "support/support.hpp"

namespace httpx::test {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using Json = nlohmann::json;
/// For printing only: keeps the members in the order the client wrote them.
using OrderedJson = nlohmann::ordered_json;

/// How long the canned server may take to print its address, and to exit after SIGTERM.
constexpr auto kStartDeadline = 10s;
constexpr auto kStopDeadline = 5s;
/// How long one client may take (client_request.js gives up by itself after 5 s).
constexpr auto kClientDeadline = 10s;
/// The differential suite must have at least this many cases.
constexpr std::size_t kMinimumCases = 40;
/// Strings longer than this are shortened when a report is printed (the large bodies).
constexpr std::size_t kPrintedStringLimit = 400;
/// Raw output (not JSON, stderr) is printed up to this many bytes.
constexpr std::size_t kPrintedOutputLimit = 4000;

// --- The cases ---------------------------------------------------------------------------------------

/// One case of client_cases.json, as far as the clients are concerned (the server reads the script).
struct ClientCase {
  /// The name in the file; the URL path is /case/<name>.
  std::string name;
  /// `name` as a test name: every byte but [A-Za-z0-9] becomes '_'.
  std::string test_name;
  std::string method;
  /// -H 'Name: value', in order.
  std::vector<std::pair<std::string, std::string>> headers;
  /// -d DATA.
  std::optional<std::string> body;
  bool insecure_http_parser = false;
  std::optional<std::uint64_t> max_header_size;
  bool join_duplicate_headers = false;
  std::string note;
};

/// The cases, or why they could not be read (then `cases` is empty).
struct CaseTable {
  std::vector<ClientCase> cases;
  std::string error;
};

std::string cases_file() { return source_dir() + "/tests/oracle/client_cases.json"; }

std::string test_name_of(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return out;
}

/// One case from its JSON object; throws std::runtime_error (or a Json exception) when malformed.
ClientCase parse_case(const Json& j) {
  if (!j.is_object()) throw std::runtime_error("a case is not a JSON object: " + j.dump().substr(0, 200));
  ClientCase c;
  c.name = j.at("name").get<std::string>();
  const auto where = "case " + c.name + ": ";
  if (c.name.empty()) throw std::runtime_error("a case has an empty name");
  c.test_name = test_name_of(c.name);
  c.method = j.at("method").get<std::string>();
  c.note = j.value("note", "");
  if (j.contains("requestHeaders")) {
    for (const auto& h : j.at("requestHeaders")) {
      if (!h.is_array() || h.size() != 2 || !h[0].is_string() || !h[1].is_string()) {
        throw std::runtime_error(where + "requestHeaders must be [name, value] pairs of strings");
      }
      c.headers.emplace_back(h[0].get<std::string>(), h[1].get<std::string>());
    }
  }
  if (j.contains("requestBody")) c.body = j.at("requestBody").get<std::string>();
  if (j.contains("options")) {
    for (const auto& [key, value] : j.at("options").items()) {
      if (key == "insecureHTTPParser") {
        c.insecure_http_parser = value.get<bool>();
      } else if (key == "joinDuplicateHeaders") {
        c.join_duplicate_headers = value.get<bool>();
      } else if (key == "maxHeaderSize") {
        c.max_header_size = value.get<std::uint64_t>();
      } else {
        // A new option in the file must not be dropped silently: the clients would not get it.
        throw std::runtime_error(where + "unknown option " + key);
      }
    }
  }
  return c;
}

CaseTable load_cases(const std::string& file) {
  CaseTable table;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    table.error = "cannot open " + file;
    return table;
  }
  std::stringstream text;
  text << in.rdbuf();
  const Json list = Json::parse(text.str(), nullptr, false);
  if (list.is_discarded() || !list.is_array()) {
    table.error = file + " is not a JSON array";
    return table;
  }
  try {
    std::set<std::string, std::less<>> names;
    for (const auto& j : list) {
      ClientCase c = parse_case(j);
      if (!names.insert(c.test_name).second) {
        throw std::runtime_error("two cases have the test name " + c.test_name +
                                 " (names that differ only in '-' and '_'?)");
      }
      table.cases.push_back(std::move(c));
    }
  } catch (const std::exception& e) {
    table.cases.clear();
    table.error = file + ": " + e.what();
  }
  return table;
}

/// Read once, at static initialisation (INSTANTIATE_TEST_SUITE_P below needs the names then).
/// Never throws: a broken file shows up as the CaseFile test's failure.
const CaseTable& table() {
  static const CaseTable t = load_cases(cases_file());
  return t;
}

/// Cases where the peer may report something else than Node, by case name (as in
/// client_cases.json), with the reason. The difference is then printed instead of failing.
const std::map<std::string, std::string, std::less<>>& known_differences() {
  static const std::map<std::string, std::string, std::less<>> reasons = {
      // {"case-name", "why httpx answers differently, and why that is accepted"},
      // A bare LF where HTTP wants CRLF: Node 20's llhttp 9 checks each line ending itself, the
      // Debian llhttp 8.1 we build on accepts a bare LF in some places and names other errors.
      // Both sides still reject the strict cases; the codes differ.
      {"bare-lf", "llhttp 8.1 reports HPE_INVALID_HEADER_TOKEN where llhttp 9 says HPE_CR_EXPECTED"},
      {"bare-lf-header-line", "llhttp 8.1 reports HPE_INVALID_HEADER_TOKEN where llhttp 9 says HPE_CR_EXPECTED"},
      {"bare-lf-chunked", "llhttp 8.1 reports HPE_INVALID_CHUNK_SIZE where llhttp 9 says HPE_CR_EXPECTED"},
      {"bare-lf-chunked-last-insecure",
       "llhttp 8.1 rejects the bare-LF last chunk (HPE_INVALID_CHUNK_SIZE); llhttp 9 waits and the close aborts"},
      {"bare-lf-end-of-head", "llhttp 8.1 accepts a head ended by a bare LF, which llhttp 9 rejects"},
      {"bare-lf-chunked-insecure", "llhttp 8.1 rejects a bare LF after a chunk size even when lenient"},
  };
  return reasons;
}

// --- Running the clients -----------------------------------------------------------------------------

bool env_is(const char* name, std::string_view value) {
  const char* v = std::getenv(name);
  return v != nullptr && value == v;
}

/// `text` %-encoded except for the unreserved bytes, for the URL path.
std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

/// METHOD URL [-H 'Name: value']... [-d DATA] [option flags]: the same for both clients.
std::vector<std::string> client_arguments(const ClientCase& c, const std::string& url) {
  std::vector<std::string> args = {c.method, url};
  for (const auto& [name, value] : c.headers) {
    args.push_back("-H");
    args.push_back(name + ": " + value);
  }
  if (c.body) {
    args.push_back("-d");
    args.push_back(*c.body);
  }
  if (c.insecure_http_parser) args.push_back("--insecure-http-parser");
  if (c.max_header_size) {
    args.push_back("--max-header-size");
    args.push_back(std::to_string(*c.max_header_size));
  }
  if (c.join_duplicate_headers) args.push_back("--join-duplicate-headers");
  return args;
}

std::vector<std::string> node_command(const ClientCase& c, const std::string& url) {
  std::vector<std::string> argv = {"node", source_dir() + "/tests/oracle/client_request.js"};
  for (auto& a : client_arguments(c, url)) argv.push_back(std::move(a));
  return argv;
}

/// `httpx request ... --format json`, or Node's client again under HTTPX_DIFF_PEER=node.
std::vector<std::string> peer_command(const ClientCase& c, const std::string& url) {
  if (env_is("HTTPX_DIFF_PEER", "node")) return node_command(c, url);
  std::vector<std::string> argv = {httpx_binary(), "request"};
  for (auto& a : client_arguments(c, url)) argv.push_back(std::move(a));
  argv.push_back("--format");
  argv.push_back("json");
  return argv;
}

/// What one client did.
struct ClientRun {
  std::string command;
  int exit_code = -1;
  std::string out;
  std::string err;
  /// stdout as JSON (discarded when it is not).
  Json report = Json(Json::value_t::discarded);
  /// Why the run cannot be compared (no JSON, a crash, the deadline), or "".
  std::string problem;
};

ClientRun run_client(const std::vector<std::string>& argv) {
  ClientRun run;
  try {
    ChildProcess child(argv);
    run.command = child.command();
    run.exit_code = child.wait_for_exit(kClientDeadline);
    run.out = child.out();
    run.err = child.err();
  } catch (const std::exception& e) {
    run.problem = std::string("could not be started: ") + e.what();
    return run;
  }
  run.report = Json::parse(run.out, nullptr, false);
  if (run.exit_code == 124) {
    run.problem = "did not exit within " + std::to_string(kClientDeadline.count()) + " s (killed)";
  } else if (run.exit_code != 0 && run.exit_code != 1) {
    run.problem = "exited with status " + std::to_string(run.exit_code) + " (expected 0 or 1)";
  } else if (run.report.is_discarded()) {
    run.problem = "did not print one JSON object on stdout";
  } else if (!run.report.is_object() || !run.report.contains("request") || !run.report.contains("response") ||
             !run.report.contains("error")) {
    run.problem = "printed JSON without the members request, response and error";
  }
  return run;
}

// --- Printing ----------------------------------------------------------------------------------------

/// `bytes` with control bytes escaped, cut at `limit`.
std::string printable(std::string_view bytes, std::size_t limit = kPrintedOutputLimit) {
  std::string out;
  for (std::size_t i = 0; i < std::min(bytes.size(), limit); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f)) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (bytes.size() > limit) out += "... (" + std::to_string(bytes.size() - limit) + " more bytes)";
  return out;
}

/// A copy of `j` with every long string shortened, so a 200 kB body prints as a few lines.
OrderedJson shortened(const OrderedJson& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.size() <= kPrintedStringLimit) return j;
    return s.substr(0, kPrintedStringLimit / 2) + "...(" + std::to_string(s.size()) + " bytes in all)";
  }
  if (j.is_array() || j.is_object()) {
    OrderedJson copy = j;
    for (auto& item : copy) item = shortened(item);
    return copy;
  }
  return j;
}

std::string dump(const OrderedJson& j) { return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace); }

/// One client's run for messages: command, exit status, the report member by member, stderr.
std::string transcript(std::string_view who, const ClientRun& run) {
  std::string s = "--- " + std::string(who) + ": `" + run.command + "` exited " + std::to_string(run.exit_code);
  if (!run.problem.empty() && run.problem.rfind("exited", 0) != 0) s += " (" + run.problem + ")";
  s += "\n";
  const OrderedJson report = OrderedJson::parse(run.out, nullptr, false);
  if (report.is_object()) {
    for (const auto& [key, value] : report.items()) s += "    " + key + ": " + dump(shortened(value)) + "\n";
  } else {
    s += "    stdout: " + (run.out.empty() ? "(empty)"s : printable(run.out)) + "\n";
  }
  if (!run.err.empty()) s += "    stderr: " + printable(run.err) + "\n";
  return s;
}

/// The case as the clients see it, for messages.
std::string case_text(const ClientCase& c, const std::string& url) {
  std::string s = "--- case " + c.name + ": " + c.note + "\n    " + c.method + " " + url;
  for (const auto& [name, value] : c.headers) s += "\n    -H '" + name + ": " + value + "'";
  if (c.body) s += "\n    -d " + Json(*c.body).dump();
  if (c.insecure_http_parser) s += "\n    --insecure-http-parser";
  if (c.max_header_size) s += "\n    --max-header-size " + std::to_string(*c.max_header_size);
  if (c.join_duplicate_headers) s += "\n    --join-duplicate-headers";
  return s + "\n";
}

// --- Comparing ---------------------------------------------------------------------------------------

/// Collects the differences between two reports, one line each.
class Differences {
 public:
  /// All differences between `node` and `peer` (both without a problem); empty when alike.
  static std::vector<std::string> between(const ClientRun& node, const ClientRun& peer) {
    Differences d;
    if (node.exit_code != peer.exit_code) {
      d.add("exit status", std::to_string(node.exit_code), std::to_string(peer.exit_code));
    }
    // run_client made sure both reports are objects with request, response and error.
    const Json& a = node.report;
    const Json& b = peer.report;
    d.members("", a, b, {"request", "response", "timings", "error"});
    if (a.contains("timings") != b.contains("timings")) {
      const auto has = [](const Json& j) { return j.contains("timings") ? "present"s : "(missing)"s; };
      d.add("timings", has(a), has(b));
    }

    if (d.objects("request", a.at("request"), b.at("request"))) {
      static const std::vector<std::string> kFields = {"method", "url", "headers"};
      d.fields("request.", a.at("request"), b.at("request"), kFields);
    }
    if (d.objects("response", a.at("response"), b.at("response"))) {
      static const std::vector<std::string> kFields = {"httpVersion", "statusCode", "statusMessage", "headers",
                                                       "rawHeaders",  "trailers",   "rawTrailers",   "body"};
      d.fields("response.", a.at("response"), b.at("response"), kFields);
    }
    if (d.objects("error", a.at("error"), b.at("error"))) {
      static const std::vector<std::string> kFields = {"code", "message"};
      d.fields("error.", a.at("error"), b.at("error"), kFields);
    }
    return std::move(d.lines_);
  }

 private:
  static std::string show(const Json& j) {
    std::string text = j.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (text.size() > 300) text = text.substr(0, 300) + "...(" + std::to_string(text.size()) + " bytes)";
    return text;
  }

  void add(const std::string& what, const std::string& node, const std::string& peer) {
    lines_.push_back(what + ": node " + node + ", peer " + peer);
  }

  /// True when `a` and `b` are both objects (to be compared member by member); otherwise adds a
  /// line unless they are equal (both null, say).
  bool objects(const std::string& at, const Json& a, const Json& b) {
    if (a.is_object() && b.is_object()) return true;
    if (a != b) add(at, show(a), show(b));
    return false;
  }

  /// The members `expected` of the objects `a` and `b` compared one by one, and no other members.
  void fields(const std::string& at, const Json& a, const Json& b, const std::vector<std::string>& expected) {
    members(at, a, b, expected);
    for (const auto& key : expected) value(at + key, a, b, key);
  }

  /// Both objects must have no member besides `expected` (a missing one shows in value()).
  void members(const std::string& at, const Json& a, const Json& b, const std::vector<std::string>& expected) {
    const auto check = [&](const Json& j, const char* who) {
      for (const auto& [key, value] : j.items()) {
        if (std::find(expected.begin(), expected.end(), key) == expected.end()) {
          lines_.push_back(at + key + ": an unexpected member in " + who + "'s report");
        }
      }
    };
    check(a, "node");
    check(b, "the peer");
  }

  /// Member `key` of `a` and `b` (objects); strings that differ get their first differing offset.
  void value(const std::string& at, const Json& a, const Json& b, const std::string& key) {
    const bool in_a = a.contains(key);
    const bool in_b = b.contains(key);
    if (!in_a || !in_b) {
      if (in_a != in_b) add(at, in_a ? show(a.at(key)) : "(missing)", in_b ? show(b.at(key)) : "(missing)");
      return;
    }
    const Json& x = a.at(key);
    const Json& y = b.at(key);
    if (x == y) return;
    if (x.is_string() && y.is_string()) {
      const auto& s = x.get_ref<const std::string&>();
      const auto& t = y.get_ref<const std::string&>();
      if (s.size() > 200 || t.size() > 200) {
        const std::size_t at_byte =
            static_cast<std::size_t>(std::mismatch(s.begin(), s.end(), t.begin(), t.end()).first - s.begin());
        const auto from = at_byte > 20 ? at_byte - 20 : 0;
        add(at + " (" + std::to_string(s.size()) + " and " + std::to_string(t.size()) +
                " bytes, first difference at byte " + std::to_string(at_byte) + ")",
            show(Json(s.substr(from, 80))), show(Json(t.substr(from, 80))));
        return;
      }
    }
    add(at, show(x), show(y));
  }

  std::vector<std::string> lines_;
};

/// Why `node`'s own report says the harness, not the client, is broken; or "".
std::string harness_complaint(const ClientRun& node, const ClientCase& c) {
  const Json& error = node.report.at("error");
  if (error.is_object() && error.value("code", Json()) == "ECONNREFUSED") {
    return "Node's client could not connect: the canned server is not listening any more";
  }
  const Json& response = node.report.at("response");
  if (response.is_object() && response.value("statusCode", Json()) == 404 &&
      response.value("rawHeaders", Json()) == Json{"Content-Length", "0", "Connection", "close"}) {
    return "the canned server answered its 404: it does not know the case " + c.name;
  }
  return {};
}

// --- The test ----------------------------------------------------------------------------------------

/// Parameter: an index into table().cases.
class ClientDifferentialTest : public ::testing::TestWithParam<std::size_t> {
 public:
  /// Starts the canned server and reads its port.
  static void SetUpTestSuite() {
    setup_error_.clear();
    setup_error_reported_ = false;
    port_ = 0;
    if (!table().error.empty()) {
      setup_error_ = "the cases could not be read: " + table().error;
      return;
    }
    try {
      server_ = std::make_unique<ChildProcess>(
          std::vector<std::string>{"node", source_dir() + "/tests/oracle/canned_server.js", cases_file()});
    } catch (const std::exception& e) {
      setup_error_ = "could not start the canned server: "s + e.what();
      return;
    }
    const auto line = server_->wait_for_stderr_line("listening on http://", kStartDeadline);
    if (line) {
      // "listening on http://127.0.0.1:PORT": the digits after the last colon.
      const std::size_t colon = line->rfind(':');
      if (colon != std::string::npos) port_ = std::atoi(line->c_str() + colon + 1);
      if (port_ <= 0 || port_ > 65535) setup_error_ = "`" + server_->command() + "` printed no port: " + *line;
      return;
    }
    const int code = server_->wait_for_exit(1s);
    setup_error_ = "`" + server_->command() + "` " +
                   (code == 124 ? "did not print `listening on http://HOST:PORT` within " +
                                      std::to_string(kStartDeadline.count()) + " s"
                                : "exited with status " + std::to_string(code) + " before listening") +
                   "\n  stderr: " + printable(server_->err());
  }

  /// Stops the canned server (SIGTERM by PID); it must exit 0.
  static void TearDownTestSuite() {
    if (server_ && setup_error_.empty() && !server_->exited()) {
      server_->send_signal(SIGTERM);
      const int code = server_->wait_for_exit(kStopDeadline);
      if (code != 0) {
        ADD_FAILURE() << "`" << server_->command() << "` exited with status " << code
                      << " after SIGTERM (expected 0); stderr: " << printable(server_->err());
      }
    }
    server_.reset();  // kills (SIGKILL by PID) and reaps a server still running
  }

 protected:
  static inline std::unique_ptr<ChildProcess> server_;
  static inline int port_ = 0;
  static inline std::string setup_error_;
  static inline bool setup_error_reported_ = false;
};

TEST_P(ClientDifferentialTest, SameResult) {
  if (!setup_error_.empty()) {
    // The whole story once; the other cases point at it.
    const bool first = !setup_error_reported_;
    setup_error_reported_ = true;
    FAIL() << (first ? setup_error_ : "the canned server did not start (see the first failing case)"s);
  }
  const ClientCase& c = table().cases.at(GetParam());
  const std::string url = "http://127.0.0.1:" + std::to_string(port_) + "/case/" + percent_encode(c.name);

  const std::size_t server_said_before = server_->err().size();
  const ClientRun node = run_client(node_command(c, url));
  const ClientRun peer = run_client(peer_command(c, url));
  server_->drain();
  const std::string server_said = server_->err().substr(server_said_before);

  std::string transcripts = case_text(c, url) + transcript("node", node) + transcript("peer", peer);
  if (!server_said.empty()) {
    transcripts += "--- canned server's stderr meanwhile:\n    " + printable(server_said) + "\n";
  }
  if (env_is("HTTPX_DIFF_VERBOSE", "1")) std::cout << "[ case " << c.name << " ]\n" << transcripts;

  // Node's side must work, or the comparison means nothing.
  ASSERT_TRUE(node.problem.empty()) << "Node's client " << node.problem << "\n" << transcripts;
  const std::string complaint = harness_complaint(node, c);
  ASSERT_TRUE(complaint.empty()) << complaint << "\n" << transcripts;

  std::vector<std::string> differences;
  if (!peer.problem.empty()) {
    differences.push_back("the peer " + peer.problem);
  } else {
    differences = Differences::between(node, peer);
  }
  if (differences.empty()) return;
  std::string listed;
  for (const auto& line : differences) listed += "  " + line + "\n";
  if (const auto known = known_differences().find(c.name); known != known_differences().end()) {
    std::cout << "[ known difference in " << c.name << ": " << known->second << " ]\n" << listed << transcripts;
    return;
  }
  ADD_FAILURE() << "case " << c.name << ": node and the peer reported differently\n" << listed << transcripts;
}

/// The case file itself: readable, big enough, and every known difference names one of its cases.
TEST(ClientDifferentialCases, CaseFile) {
  ASSERT_TRUE(table().error.empty()) << table().error;
  EXPECT_GE(table().cases.size(), kMinimumCases) << cases_file() << " has too few cases";
  for (const auto& [name, reason] : known_differences()) {
    const bool found = std::any_of(table().cases.begin(), table().cases.end(),
                                   [&](const ClientCase& c) { return c.name == name; });
    EXPECT_TRUE(found) << "known_differences() names " << name << ", which is not a case of " << cases_file();
  }
}

std::vector<std::size_t> case_indices() {
  std::vector<std::size_t> indices(table().cases.size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  return indices;
}

std::string case_name(const ::testing::TestParamInfo<std::size_t>& info) {
  return table().cases.at(info.param).test_name;
}

INSTANTIATE_TEST_SUITE_P(Canned, ClientDifferentialTest, ::testing::ValuesIn(case_indices()), case_name);
// A case file that cannot be read yields no cases; CaseFile then says why.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ClientDifferentialTest);

}  // namespace
}  // namespace httpx::test
