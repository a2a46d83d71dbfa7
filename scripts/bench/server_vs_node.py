#!/usr/bin/env python3
"""Helper of scripts/bench/server-vs-node (standard library only).

  server_vs_node.py idle-conns --port P --pid PID [--conns 2000] [--settle 2] [--timeout 120]
      Measures a server's resident memory per idle keep-alive connection. Warms the server up
      with a few requests on short-lived connections, reads its VmRSS (/proc/PID/status) and
      socket count (/proc/PID/fd), then opens --conns connections to 127.0.0.1:P, sends
      `GET / HTTP/1.1` on each and reads the whole response, keeps them all open and idle,
      waits --settle seconds, reads VmRSS and the socket count again and checks how many
      connections are still open. Prints one JSON object on stdout; exits 1 when it could not
      measure at all. The server must have its keep-alive timeout disabled.

  server_vs_node.py report --raw FILE --commands FILE --meta FILE [--json]
      Turns one run's raw measurements (--raw: JSON lines; --commands: the commands run, one a
      line; --meta: key=value lines describing the run) into the table, medians, ratios and
      PASS/FAIL; with --json also into one JSON object on stdout (the table then goes to
      stderr). Exits 1 when a measurement is missing or not trustworthy.
"""

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time

HOST = "127.0.0.1"

# ----------------------------------------------------------------------------------------------
# idle-conns


def vm_rss_kb(pid):
    """VmRSS of a process in kB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def socket_count(pid):
    """How many of a process's file descriptors are sockets."""
    count = 0
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        try:
            if os.readlink(f"{fd_dir}/{name}").startswith("socket:"):
                count += 1
        except OSError:
            pass  # closed meanwhile
    return count


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    if soft != resource.RLIM_INFINITY and soft < need:
        raise RuntimeError(f"file descriptor limit {soft} is below the {need} needed")


class BadResponse(Exception):
    pass


async def read_response(reader):
    """Reads one whole response; raises BadResponse unless it is a 200 the connection survives."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")
    if len(status) < 2 or not status[0].startswith("HTTP/1."):
        raise BadResponse(f"bad status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            await reader.readexactly(size + 2)
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:
        raise BadResponse("response delimited by close")
    if status[1] != "200":
        raise BadResponse(f"status {status[1]}")
    if "close" in headers.get("connection", ""):
        raise BadResponse("Connection: close")


REQUEST = f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()


async def open_one(port, limit):
    """Opens one connection and completes one request on it; returns (reader, writer)."""
    async with limit:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(REQUEST)
            await writer.drain()
            await read_response(reader)
        except BaseException:
            writer.close()
            raise
        return reader, writer


async def warm_up(port, connections=4, requests=3):
    """A few requests on short-lived connections, so that one-time start-up costs of the first
    requests are not charged to the idle connections."""
    for _ in range(connections):
        reader, writer = await asyncio.open_connection(HOST, port)
        for _ in range(requests):
            writer.write(REQUEST)
            await writer.drain()
            await read_response(reader)
        writer.close()
        await writer.wait_closed()


def error_name(exc):
    if isinstance(exc, BadResponse):
        return f"bad response: {exc}"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "closed before the response ended"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{type(exc).__name__} errno {exc.errno}"
    return type(exc).__name__


async def idle_conns(args):
    result = {"conns_requested": args.conns, "settle_s": args.settle}
    await warm_up(args.port)
    await asyncio.sleep(0.5)
    result["rss_before_kb"] = vm_rss_kb(args.pid)
    result["server_sockets_before"] = socket_count(args.pid)

    # At most 100 handshakes in flight: far below the listen backlog, so none is refused.
    limit = asyncio.Semaphore(100)
    started = time.monotonic()
    outcomes = await asyncio.gather(*(open_one(args.port, limit) for _ in range(args.conns)),
                                    return_exceptions=True)
    result["open_s"] = round(time.monotonic() - started, 3)
    conns = [o for o in outcomes if not isinstance(o, BaseException)]
    errors = {}
    for o in outcomes:
        if isinstance(o, BaseException):
            errors[error_name(o)] = errors.get(error_name(o), 0) + 1
    result["established"] = len(conns)
    result["errors"] = errors

    # Idle: nothing is sent; the loop keeps running so that a close by the server is noticed.
    await asyncio.sleep(args.settle)
    result["rss_after_kb"] = vm_rss_kb(args.pid)
    result["server_sockets_after"] = socket_count(args.pid)
    result["still_open"] = sum(1 for r, w in conns if not r.at_eof() and not w.transport.is_closing())

    growth = (result["rss_after_kb"] - result["rss_before_kb"]) * 1024
    result["rss_growth_bytes"] = growth
    result["bytes_per_conn"] = round(growth / result["still_open"], 1) if result["still_open"] else None
    # Trust the number only when every connection was made, answered, and is still open as seen
    # by both ends.
    result["valid"] = (result["established"] == args.conns and result["still_open"] == args.conns and
                       result["server_sockets_after"] - result["server_sockets_before"] >= args.conns)

    for _, w in conns:
        w.close()
    return result


def cmd_idle_conns(args):
    raise_fd_limit(args.conns + 256)
    try:
        result = asyncio.run(asyncio.wait_for(idle_conns(args), args.timeout))
    except Exception as exc:  # pylint: disable=broad-except
        print(json.dumps({"valid": False, "failure": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(result))
    return 0


# ----------------------------------------------------------------------------------------------
# report

TARGET_THROUGHPUT = 1.6     # libhttp/node requests per second, at least
TARGET_CPU = 0.5            # libhttp/node CPU time per request, at most
TARGET_IDLE_BYTES = 2048    # libhttp resident bytes per idle keep-alive connection, at most

SIDES = ("node", "libhttp")


def load_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, digits=0, thousands=True):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}" if thousands else f"{value:.{digits}f}"


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def load_meta(path):
    """The run's description, written by server-vs-node as key=value lines."""
    with open(path) as f:
        kv = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    return {
        "self_test": kv["self_test"] == "1",
        "clk_tck": int(kv["clk_tck"]),
        "machine": {"nproc": int(kv["nproc"]), "kernel": kv["kernel"], "node_version": kv["node_version"],
                    "wrk_version": kv["wrk_version"], "load_before": float(kv["load_before"])},
        "parameters": {"duration_s": int(kv["duration"]), "rounds": int(kv["rounds"]),
                       "warmup_s": int(kv["warmup"]), "wrk_threads": int(kv["wrk_threads"]),
                       "wrk_connections": int(kv["wrk_connections"]), "idle_conns": int(kv["conns"]),
                       "settle_s": float(kv["settle"]), "clk_tck": int(kv["clk_tck"])},
        "programs": {"node": kv["node_program"], "libhttp": kv["libhttp_program"]},
    }


def cmd_report(args):
    meta = load_meta(args.meta)
    raw = load_lines(args.raw)
    with open(args.commands) as f:
        commands = list(dict.fromkeys(line.rstrip("\n") for line in f if line.strip()))

    problems = []   # a measurement missing or not trustworthy: exit 1
    warnings = []   # worth a look, but the numbers stand
    runs = {side: [r for r in raw if r["kind"] == "wrk" and r["side"] == side] for side in SIDES}
    idle = {side: next((r["result"] for r in raw if r["kind"] == "idle" and r["side"] == side), None)
            for side in SIDES}

    sides = {}
    for side in SIDES:
        rps = [r["rps"] for r in runs[side]]
        us_per_req = [r["cpu_ticks"] / meta["clk_tck"] * 1e6 / r["requests"]
                      for r in runs[side] if r["requests"] > 0]
        if not rps:
            problems.append(f"{side}: no throughput measurement")
        for r in runs[side]:
            if r["socket_errors"]:
                warnings.append(f"{side} round {r['round']}: wrk socket errors: {r['socket_errors']}")
        memory = idle[side]
        if memory is None:
            problems.append(f"{side}: no idle-memory measurement")
        elif not memory.get("valid"):
            problems.append(f"{side}: idle-memory measurement not trustworthy: " + json.dumps(memory))
        sides[side] = {
            "rps": [round(x, 1) for x in rps],
            "rps_median": round(statistics.median(rps), 1) if rps else None,
            "requests": [r["requests"] for r in runs[side]],
            "cpu_ticks": [r["cpu_ticks"] for r in runs[side]],
            "cpu_us_per_request": [round(x, 3) for x in us_per_req],
            "cpu_us_per_request_median": round(statistics.median(us_per_req), 3) if us_per_req else None,
            "idle": memory,
            "idle_bytes_per_conn": memory.get("bytes_per_conn") if memory and memory.get("valid") else None,
        }

    # A load average near a whole CPU before the run means other work competes with the servers
    # and wrk: every number, ratios included, is noisier than usual.
    if meta["machine"]["load_before"] >= 0.5:
        warnings.append(f"the 1-minute load average was {meta['machine']['load_before']} before the run: "
                        "other work (or a run just before) competes for the CPUs, so the ratios are noisy")

    node, lib = sides["node"], sides["libhttp"]
    tput_ratio = ratio(lib["rps_median"], node["rps_median"])
    cpu_ratio = ratio(lib["cpu_us_per_request_median"], node["cpu_us_per_request_median"])
    idle_ratio = ratio(lib["idle_bytes_per_conn"], node["idle_bytes_per_conn"])
    tput_ok = None if tput_ratio is None else tput_ratio >= TARGET_THROUGHPUT
    cpu_ok = None if cpu_ratio is None else cpu_ratio <= TARGET_CPU
    idle_ok = None if lib["idle_bytes_per_conn"] is None else lib["idle_bytes_per_conn"] <= TARGET_IDLE_BYTES

    results = {
        "self_test": meta["self_test"],
        "machine": meta["machine"],
        "parameters": meta["parameters"],
        "programs": meta["programs"],
        "node": node,
        "libhttp": lib,
        "throughput": {"ratio": round(tput_ratio, 3) if tput_ratio is not None else None,
                       "target": f">= {TARGET_THROUGHPUT}", "pass": tput_ok},
        "cpu_per_request": {"ratio": round(cpu_ratio, 3) if cpu_ratio is not None else None,
                            "target": f"<= {TARGET_CPU}", "pass": cpu_ok},
        "idle_memory": {"libhttp_bytes_per_conn": lib["idle_bytes_per_conn"],
                        "node_bytes_per_conn": node["idle_bytes_per_conn"],
                        "ratio": round(idle_ratio, 3) if idle_ratio is not None else None,
                        "target": f"libhttp <= {TARGET_IDLE_BYTES}", "pass": idle_ok},
        "problems": problems,
        "warnings": warnings,
        "commands": commands,
    }

    out = sys.stderr if args.json else sys.stdout
    p = meta["parameters"]
    m = meta["machine"]
    b_name = "node (B)" if meta["self_test"] else "libhttp"
    w = lambda s="": print(s, file=out)  # noqa: E731
    w()
    w("server-vs-node" + ("  [SELF-TEST: both sides run the Node program; ratios should be ~1]"
                          if meta["self_test"] else ""))
    w(f"  machine: {m['nproc']} cpus, {m['kernel']}, node {m['node_version']}, {m['wrk_version']}, "
      f"load average {m['load_before']} before the run")
    w(f"  wrk -t{p['wrk_threads']} -c{p['wrk_connections']} -d{p['duration_s']}s, {p['rounds']} round(s) "
      f"per server alternating (after a {p['warmup_s']}s warm-up each); "
      f"{p['idle_conns']} idle connections, {p['settle_s']}s settle")
    w()
    w(f"  {'metric':<34}{'node':>12}{b_name:>12}{'ratio':>9}   {'target':<18}result")
    w("  " + "-" * 91)
    w(f"  {'throughput, req/s (median)':<34}{fmt(node['rps_median']):>12}{fmt(lib['rps_median']):>12}"
      f"{fmt(tput_ratio, 2):>9}   {'ratio >= ' + str(TARGET_THROUGHPUT):<18}{verdict(tput_ok)}")
    w(f"  {'CPU per request, us (median)':<34}{fmt(node['cpu_us_per_request_median'], 2):>12}"
      f"{fmt(lib['cpu_us_per_request_median'], 2):>12}{fmt(cpu_ratio, 2):>9}   "
      f"{'ratio <= ' + str(TARGET_CPU):<18}{verdict(cpu_ok)}")
    w(f"  {'idle keep-alive RSS, B/conn':<34}{fmt(node['idle_bytes_per_conn']):>12}"
      f"{fmt(lib['idle_bytes_per_conn']):>12}{fmt(idle_ratio, 2):>9}   "
      f"{b_name + ' <= ' + str(TARGET_IDLE_BYTES):<18}{verdict(idle_ok)}")
    w()
    w("  rounds (req/s, CPU us/request):")
    for i in range(max(len(runs["node"]), len(runs["libhttp"]))):
        cells = []
        for side, label in (("node", "node"), ("libhttp", b_name)):
            s = sides[side]
            if i < len(s["rps"]):
                cpu = s["cpu_us_per_request"][i] if i < len(s["cpu_us_per_request"]) else None
                cells.append(f"{label} {fmt(s['rps'][i]):>9} req/s {fmt(cpu, 2):>7} us")
        w(f"    {i + 1}: " + "   ".join(cells))
    w("  idle connections (established / still open / server sockets added; VmRSS kB before -> after):")
    for side, label in (("node", "node"), ("libhttp", b_name)):
        r = idle[side]
        if r is None:
            w(f"    {label}: not measured")
        elif "failure" in r:
            w(f"    {label}: FAILED: {r['failure']}")
        else:
            w(f"    {label}: {r['established']} / {r['still_open']} / "
              f"{r['server_sockets_after'] - r['server_sockets_before']} of {r['conns_requested']}; "
              f"{fmt(r['rss_before_kb'])} -> {fmt(r['rss_after_kb'])} kB"
              + (f"; errors {r['errors']}" if r["errors"] else ""))
    if problems:
        w()
        w("  PROBLEMS (the numbers above are not trustworthy):")
        for problem in problems:
            w(f"    - {problem}")
    if warnings:
        w()
        w("  warnings:")
        for warning in warnings:
            w(f"    - {warning}")
    w()
    w("  commands:")
    for command in commands:
        w(f"    {command}")
    w()
    w("  Only the ratios mean anything: absolute numbers depend on the machine and its load.")
    w()

    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("idle-conns")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--conns", type=int, default=2000)
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=120.0)
    p = sub.add_parser("report")
    p.add_argument("--raw", required=True)
    p.add_argument("--commands", required=True)
    p.add_argument("--meta", required=True)
    p.add_argument("--json", action="store_true")
    args = parser.parse_args()
    return cmd_idle_conns(args) if args.command == "idle-conns" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
