// `httpx bench`: flags map onto bench::LoadOptions (the Agent's keepAlive and maxSockets, the
// request's method, headers, body and setTimeout); the report goes to stdout, progress to stderr
// only when stderr is a terminal.
#include "httpx/bench/bench_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>
#include <thread>

#include "httpx/bench/load.hpp"
#include "httpx/bench/results.hpp"
#include "httpx/bench/threshold.hpp"
#include "httpx/exit_codes.hpp"
#include "httpx/header_lines.hpp"

namespace httpx::app {
namespace {

using bench::Report;
using bench::Threshold;

struct BenchFlags {
  std::string url;
  std::optional<std::uint64_t> requests;
  std::string duration;  // DURATION text; empty: 10s unless -n
  std::uint64_t connections = 50;
  std::uint64_t threads = 0;  // 0: one per core, at most -c
  std::string method = "GET";
  std::vector<std::string> headers;
  std::optional<std::string> body;
  std::string body_file;
  std::optional<double> rate;
  std::optional<long long> timeout;
  bool no_keep_alive = false;
  std::string warmup = "0";
  std::string format = "text";
  std::vector<std::string> thresholds;
  bool fail_status = false;
  std::vector<std::string> merge_files;
};

bool terminal(int fd) { return ::isatty(fd) == 1; }

// Prints the report and applies the thresholds: 0 when all pass, 1 (with one line per failure)
// when one does not.
int finish(const Report& report, const std::vector<Threshold>& thresholds, const std::string& format,
           std::ostream& out, std::ostream& err) {
  if (format == "json") {
    out << bench::to_json(report).dump() << '\n';
  } else {
    out << bench::text_report(report, terminal(STDOUT_FILENO));
  }
  out.flush();
  int code = kExitOk;
  for (const auto& t : thresholds) {
    const auto result = bench::evaluate(t, report.results);
    if (!result.passed) {
      err << fmt::format("httpx bench: threshold '{}' failed: {}\n", t.text, result.actual);
      code = kExitFailure;
    }
  }
  return code;
}

std::vector<Threshold> parse_thresholds(const std::vector<std::string>& texts) {
  std::vector<Threshold> out;
  for (const auto& t : texts) out.push_back(Threshold::parse(t));
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::invalid_argument(fmt::format("cannot read '{}'", path));
  return data;
}

// A DURATION flag's value, or an error that names the flag.
std::chrono::milliseconds duration_flag(const char* flag, const std::string& text) {
  try {
    return bench::parse_duration(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{}: {}", flag, e.what()));
  }
}

bench::LoadOptions load_options(const BenchFlags& f) {
  bench::LoadOptions o;
  o.url = f.url;
  o.method = f.method;
  o.headers = header_list(f.headers);
  if (f.body && !f.body_file.empty()) throw std::invalid_argument("--body and --body-file exclude each other");
  if (f.body) o.body = *f.body;
  if (!f.body_file.empty()) o.body = read_file(f.body_file);
  o.requests = f.requests;
  if (!f.duration.empty()) {
    if (f.requests) throw std::invalid_argument("-n and -d exclude each other: give a count or a duration");
    o.duration = duration_flag("-d/--duration", f.duration);
  } else if (!f.requests) {
    o.duration = std::chrono::seconds(10);
  }
  o.connections = f.connections;
  const std::uint64_t cores = std::max(1u, std::thread::hardware_concurrency());
  o.threads = f.threads ? f.threads : cores;
  o.rate = f.rate;
  if (f.timeout) {
    if (*f.timeout <= 0) throw std::invalid_argument("--timeout must be a number of milliseconds above 0");
    o.timeout = std::chrono::milliseconds(*f.timeout);
  }
  o.keep_alive = !f.no_keep_alive;
  o.warmup = duration_flag("--warmup", f.warmup);
  o.fail_status = f.fail_status;
  return o;
}

int run_bench(const BenchFlags& f, std::ostream& out, std::ostream& err) {
  bench::LoadOptions options;
  std::vector<Threshold> thresholds;
  try {
    if (f.url.empty()) throw std::invalid_argument("a URL is needed, e.g. httpx bench http://127.0.0.1:8080/");
    options = load_options(f);
    thresholds = parse_thresholds(f.thresholds);
    bench::validate(options);
  } catch (const std::invalid_argument& e) {
    err << "httpx: bench: " << e.what() << " (see 'httpx bench --help')\n";
    return kExitUsage;
  }
  const bool progress = terminal(STDERR_FILENO);
  const Report report = bench::run_load(options, [&](const bench::Progress& p) {
    if (!progress) return;
    const double rate = p.elapsed_seconds > 0 ? static_cast<double>(p.done) / p.elapsed_seconds : 0;
    if (p.warming_up) {
      err << fmt::format("\r\x1b[K  warming up, {:.1f}s to go", -p.elapsed_seconds);
    } else {
      err << fmt::format("\r\x1b[K  {:.1f}s  {} done  {:.0f} req/s  {} errors", p.elapsed_seconds, p.done, rate, p.errors);
    }
    err.flush();
  });
  if (progress) err << "\r\x1b[K";
  const int code = finish(report, thresholds, f.format, out, err);
  if (report.results.total() > 0 && report.results.ok == 0) {
    err << fmt::format("httpx bench: no request succeeded ({} errors)\n", report.results.errors.total());
    return kExitFailure;
  }
  return code;
}

int run_merge(const BenchFlags& f, std::ostream& out, std::ostream& err) {
  std::vector<Report> reports;
  std::vector<Threshold> thresholds;
  try {
    thresholds = parse_thresholds(f.thresholds);
  } catch (const std::invalid_argument& e) {
    err << "httpx: bench merge: " << e.what() << " (see 'httpx bench merge --help')\n";
    return kExitUsage;
  }
  for (const auto& path : f.merge_files) {
    try {
      reports.push_back(bench::from_json(nlohmann::json::parse(read_file(path))));
    } catch (const std::exception& e) {
      err << fmt::format("httpx: bench merge: {}: {}\n", path, e.what());
      return kExitUsage;
    }
  }
  return finish(bench::merge_reports(reports), thresholds, f.format, out, err);
}

void add_output_flags(CLI::App& sub, BenchFlags& f) {
  sub.add_option("--format", f.format, "Report on stdout: text (readable, with a latency chart) or json (one object)")
      ->check(CLI::IsMember({"text", "json"}));
  sub.add_option("--threshold", f.thresholds,
                 "A condition the run must meet, else exit 1: 'p99<50ms', 'mean<=2ms', 'rps>10000', 'errors<0.1%', "
                 "'errors<5'; repeatable");
}

}  // namespace

void add_bench_command(Cli& cli) {
  auto f = std::make_shared<BenchFlags>();
  auto* sub = cli.app->add_subcommand(
      "bench", "Load-test a URL (libhttp's Agent and ClientRequest; closed model, or open with --rate)");
  sub->add_option("url", f->url, "The URL, e.g. http://127.0.0.1:8080/");
  sub->add_option("-n,--requests", f->requests, "Send exactly N requests (warm-up aside), then stop")
      ->check(CLI::PositiveNumber);
  sub->add_option("-d,--duration", f->duration,
                  "Measure for DURATION: 10, 10s, 500ms, 2m (default 10s when -n is not given)");
  sub->add_option("-c,--connections", f->connections, "Connections kept open, all threads together (maxSockets; 50)")
      ->check(CLI::PositiveNumber);
  sub->add_option("-t,--threads", f->threads, "Threads, one event loop each (default: one per core, at most -c)")
      ->check(CLI::PositiveNumber);
  sub->add_option("-m,--method", f->method, "The request method (GET)");
  sub->add_option("-H,--header", f->headers, "A request header 'Name: value'; repeatable (headers)")
      ->check(header_line_check());
  sub->add_option("--body", f->body, "Send DATA as every request's body (Content-Length framed)");
  sub->add_option("--body-file", f->body_file, "Send the contents of FILE as every request's body");
  sub->add_option("-R,--rate", f->rate,
                  "Open model: start requests at this many per second in all; latency counts from when each was due "
                  "(corrects coordinated omission, as wrk2 does)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--timeout", f->timeout,
                  "Milliseconds without data before a request fails as a timeout (request.setTimeout)");
  sub->add_flag("--no-keep-alive", f->no_keep_alive, "A new connection for every request (the agent's keepAlive false)");
  sub->add_option("--warmup", f->warmup, "Send load for DURATION first without measuring it (0)");
  sub->add_flag("--fail", f->fail_status, "Count responses with status >= 400 as errors (as curl -f)");
  add_output_flags(*sub, *f);

  auto* merge = sub->add_subcommand("merge", "Add up the JSON reports of runs made side by side into one report");
  merge->add_option("files", f->merge_files, "Reports written by httpx bench --format json")->required();
  add_output_flags(*merge, *f);
  merge->callback([&cli, f] {
    cli.run = [f](std::ostream& out, std::ostream& err) { return run_merge(*f, out, err); };
  });
  sub->callback([&cli, f, merge] {
    if (merge->parsed()) return;
    cli.run = [f](std::ostream& out, std::ostream& err) { return run_bench(*f, out, err); };
  });
}

}  // namespace httpx::app
