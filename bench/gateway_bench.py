"""Gateway benchmark (`make bench`): tools/call of a trivial tool under wrk at several concurrencies,
through the gateway, straight to the tool service (the gateway's own overhead is the difference), and
served by the official MCP Python SDK for comparison. Prints a Markdown table and the ratios.

Next to them runs the floor (`HTTPFloor`, SwiftNIO handlers only): a relay in front of a server that answers
the same result, a minimal two-process HTTP chain on this machine, and that server alone. What the
floor reaches bounds what any gateway in front of a tool service can reach here.

usage: gateway_bench.py BIN_DIR PYTHON [--seconds 10] [--concurrency 1,16,64,256] [--baseline OTHER_BIN_DIR [--rounds 4]]
Everything listens on 127.0.0.1; every load point is bounded by --seconds; all processes are stopped at the end.

With --baseline, a second gateway and tool service from OTHER_BIN_DIR (an earlier build) run alongside, and
at each concurrency the gateway target is measured in alternating rounds, baseline then this build, so that
the comparison sees the same machine (on a noisy VM, runs minutes apart differ by more than most changes).
"""

import argparse
import hashlib
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
import urllib.request
from statistics import median
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEY = "bench-key"
SECRET = "bench-service-secret"
TOOL = "test_simple_text"
EXPECTED = "This is a simple text response for testing."


def free_port() -> int:
    while True:
        port = random.randint(20000, 55000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception as error:  # noqa: BLE001 - any answer (even 4xx) means it is up
            if hasattr(error, "code"):
                return
            time.sleep(0.1)
    raise SystemExit(f"nothing answered at {url} within {timeout} s")


def modern_request(port: int) -> tuple[str, dict]:
    body = json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": TOOL, "arguments": {}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "wrk", "version": "1"}}}})
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": TOOL}
    return body, headers


def check(url: str, body: str, headers: dict) -> None:
    """One request before the load: the answer must be the tool's result, not an error."""
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    if EXPECTED not in text or '"error"' in text:
        raise SystemExit(f"{url} did not answer the tool's result: {text[:300]}")


def wrk(url: str, body: str, headers: dict, connections: int, seconds: int) -> dict:
    env = dict(os.environ, BENCH_BODY=body, BENCH_HEADERS="\n".join(f"{k}: {v}" for k, v in headers.items()))
    if not body:
        env["BENCH_METHOD"] = "GET"
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(HERE / "mcp_call.lua"), url]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and context switches (voluntary + involuntary, all threads) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if "ctxt_switches:" in line:
                    switches += int(line.split()[1])
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return cpu, switches


def measure(url: str, body: str, headers: dict, connections: int, seconds: int, pids: list[int]) -> dict:
    """One wrk load point, with the CPU time and context switches per request of each process in `pids`."""
    before = [usage(pid) for pid in pids]
    point = wrk(url, body, headers, connections, seconds)
    after = [usage(pid) for pid in pids]
    requests = max(point["requests"], 1)
    point["cpu_us"] = [(a[0] - b[0]) * 1e6 / requests for a, b in zip(after, before)]
    point["switches"] = [(a[1] - b[1]) / requests for a, b in zip(after, before)]
    return point


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "unknown CPU")
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    return f"{os.cpu_count()} × {model}, {memory} GiB RAM, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bin")
    parser.add_argument("python")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", default="1,16,64,256")
    parser.add_argument("--baseline", help="a directory with an earlier build's Gateway and ToolService to compare with")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per concurrency with --baseline")
    arguments = parser.parse_args()
    levels = [int(c) for c in arguments.concurrency.split(",")]
    bin_dir = Path(arguments.bin)

    tools_port, gateway_port, python_port = free_port(), free_port(), free_port()
    floor_port, relay_port = free_port(), free_port()
    base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SWITCHBOARD_SERVICE_SECRET": SECRET, "SWITCHBOARD_LOG_LEVEL": "warning"}
    key_hash = hashlib.sha256(KEY.encode()).hexdigest()
    processes = []
    try:
        def start(command: list[str], env: dict | None = None) -> int:
            processes.append(subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL))
            return processes[-1].pid

        def start_pair(directory: Path, tools_port: int, gateway_port: int) -> list[int]:
            """Starts a tool service and a gateway in front of it; returns their pids, gateway first."""
            tools = start([str(directory / "ToolService")], dict(base_env, SWITCHBOARD_PORT=str(tools_port), SWITCHBOARD_CONFORMANCE_FIXTURES="true"))
            gateway = start([str(directory / "Gateway")], dict(
                base_env, SWITCHBOARD_PORT=str(gateway_port), SWITCHBOARD_TOOLS_URL=f"http://127.0.0.1:{tools_port}",
                SWITCHBOARD_LEARN_URL="", SWITCHBOARD_API_KEYS=f"bench:{key_hash}",
                # The fixture is read-only, so the result cache would answer it; measure the forwarding path.
                SWITCHBOARD_CACHE_TTL="0"))
            return [gateway, tools]

        gateway_pid, tools_pid = start_pair(bin_dir, tools_port, gateway_port)
        python_pid = start([arguments.python, str(HERE / "python_server.py"), str(python_port)])
        floor_pid = start([str(bin_dir / "HTTPFloor"), "server", str(floor_port)])
        relay_pid = start([str(bin_dir / "HTTPFloor"), "relay", str(relay_port), str(floor_port)])
        for port in (tools_port, gateway_port, python_port, floor_port, relay_port):
            wait_http(f"http://127.0.0.1:{port}/health" if port != python_port else f"http://127.0.0.1:{port}/mcp")
        if arguments.baseline:
            baseline_tools_port, baseline_gateway_port = free_port(), free_port()
            baseline_pids = start_pair(Path(arguments.baseline), baseline_tools_port, baseline_gateway_port)
            for port in (baseline_tools_port, baseline_gateway_port):
                wait_http(f"http://127.0.0.1:{port}/health")

        body, headers = modern_request(gateway_port)
        direct_body = json.dumps({"name": TOOL, "arguments": {}})
        direct_headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}
        python_headers = {k: v for k, v in headers.items() if k != "Authorization"}
        # The processes that do the work of each target's requests, whose CPU time and context switches are counted.
        servers = {"gateway": [gateway_pid, tools_pid], "tool service (direct)": [tools_pid], "Python SDK server": [python_pid],
                   "gateway GET /health": [gateway_pid], "floor: relay": [relay_pid, floor_pid], "floor: server (direct)": [floor_pid]}
        targets = {
            "gateway": (f"http://127.0.0.1:{gateway_port}/mcp", body, headers),
            "tool service (direct)": (f"http://127.0.0.1:{tools_port}/v1/tools/call", direct_body, direct_headers),
            "Python SDK server": (f"http://127.0.0.1:{python_port}/mcp", body, python_headers),
            # The cheapest request the gateway's HTTP stack answers, with no MCP work and no hop.
            "gateway GET /health": (f"http://127.0.0.1:{gateway_port}/health", "", {}),
            # The floor: the same call through a SwiftNIO relay to a SwiftNIO server that answers the same result.
            "floor: relay": (f"http://127.0.0.1:{relay_port}/mcp", body, python_headers),
            "floor: server (direct)": (f"http://127.0.0.1:{floor_port}/mcp", body, python_headers),
        }
        for url, sent, sent_headers in targets.values():
            if sent:
                check(url, sent, sent_headers)
            wrk(url, sent, sent_headers, 4, 2)  # warm-up
        results = {}
        for name, (url, sent, sent_headers) in targets.items():
            for connections in levels:
                point = measure(url, sent, sent_headers, connections, arguments.seconds, servers[name])
                results[(name, connections)] = point
                print(f"  {name:<22} c={connections:<4} {point['rps']:>9.0f} req/s  p50 {point['p50_us']} µs  p99 {point['p99_us']} µs"
                      f"  errors {point['non2xx'] + point['socket_errors']}", file=sys.stderr)
        if arguments.baseline:
            pairs = {"baseline": (f"http://127.0.0.1:{baseline_gateway_port}/mcp", baseline_pids),
                     "this build": (f"http://127.0.0.1:{gateway_port}/mcp", [gateway_pid, tools_pid])}
            check(pairs["baseline"][0], body, headers)
            wrk(pairs["baseline"][0], body, headers, 4, 2)
            rounds = {}
            for connections in levels:
                for _ in range(arguments.rounds):
                    for name, (url, pids) in pairs.items():
                        rounds.setdefault((name, connections), []).append(measure(url, body, headers, connections, arguments.seconds, pids))
                print(f"  side by side c={connections} done", file=sys.stderr)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    print(f"machine: {machine()}")
    print(f"command: make bench ({arguments.seconds} s per point, wrk -t min(2,c) -c c, keep-alive, 127.0.0.1)\n")
    print("| target | connections | req/s | p50 µs | p90 µs | p99 µs | errors |")
    print("|---|---|---|---|---|---|---|")
    for (name, connections), point in results.items():
        print(f"| {name} | {connections} | {point['rps']:.0f} | {point['p50_us']} | {point['p90_us']} | {point['p99_us']} | {point['non2xx'] + point['socket_errors']} |")
    print()
    print("Server-side cost per request (from /proc: CPU time and context switches of every thread, over the run):\n")
    print("| target | connections | process | CPU µs/request | context switches/request |")
    print("|---|---|---|---|---|")
    names = {"gateway": ["gateway", "tool service"], "tool service (direct)": ["tool service"], "Python SDK server": ["Python server"], "gateway GET /health": ["gateway"],
             "floor: relay": ["relay", "server"], "floor: server (direct)": ["server"]}
    for (name, connections), point in results.items():
        for process, cpu, switches in zip(names[name], point["cpu_us"], point["switches"]):
            print(f"| {name} | {connections} | {process} | {cpu:.0f} | {switches:.1f} |")
    print()
    for connections in levels:
        gateway, python, direct = results[("gateway", connections)], results[("Python SDK server", connections)], results[("tool service (direct)", connections)]
        print(f"c={connections}: gateway/Python throughput ratio {gateway['rps'] / python['rps']:.1f}×; "
              f"gateway overhead at p50 {gateway['p50_us'] - direct['p50_us']} µs (gateway {gateway['p50_us']} µs − direct {direct['p50_us']} µs); "
              f"GET /health p50 {results[('gateway GET /health', connections)]['p50_us']} µs; "
              f"CPU per call {sum(gateway['cpu_us']):.0f} µs (gateway + tool service) against {python['cpu_us'][0]:.0f} µs (Python)")
    for connections in levels:
        relay, server, python = results[("floor: relay", connections)], results[("floor: server (direct)", connections)], results[("Python SDK server", connections)]
        print(f"c={connections}: floor (NIO relay → NIO server)/Python throughput ratio {relay['rps'] / python['rps']:.1f}×; "
              f"relay overhead at p50 {relay['p50_us'] - server['p50_us']} µs; CPU per call {sum(relay['cpu_us']):.0f} µs (relay + server)")

    if arguments.baseline:
        print(f"\nSide by side with {arguments.baseline}: the gateway target in {arguments.rounds} alternating rounds of "
              f"{arguments.seconds} s per concurrency, medians:\n")
        print("| build | connections | req/s | p50 µs | p99 µs | gateway CPU µs/request | tool service CPU µs/request |")
        print("|---|---|---|---|---|---|---|")
        for connections in levels:
            for name in ("baseline", "this build"):
                points = rounds[(name, connections)]
                print(f"| {name} | {connections} | {median(p['rps'] for p in points):.0f} | {median(p['p50_us'] for p in points):.0f} | "
                      f"{median(p['p99_us'] for p in points):.0f} | {median(p['cpu_us'][0] for p in points):.0f} | {median(p['cpu_us'][1] for p in points):.0f} |")
        print()
        for connections in levels:
            old_points, new_points = rounds[("baseline", connections)], rounds[("this build", connections)]
            change = lambda key, index=None: (median(p[key] if index is None else p[key][index] for p in new_points)
                                              / median(p[key] if index is None else p[key][index] for p in old_points) - 1) * 100
            print(f"c={connections}: throughput {change('rps'):+.0f} %, p50 {change('p50_us'):+.0f} %, "
                  f"gateway CPU per call {change('cpu_us', 0):+.0f} %, tool service CPU per call {change('cpu_us', 1):+.0f} %")


if __name__ == "__main__":
    main()

