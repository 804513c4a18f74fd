"""Every tool of the tool service, called through the gateway with the official MCP Python SDK client.

The fixture runs the built ToolService and Gateway binaries on free ports (one tool-service replica, so
that background processes are found by the calls that follow), with a temporary workspace, a policy
file that allows a shell, and an audit log outside the workspace.
"""

import asyncio
import base64
import hashlib
import json
import os
import random
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SWITCHBOARD_BIN", ROOT / ".build" / "debug"))
KEY = "sbk_tools_test_key"


def _free_port() -> int:
    while True:
        port = random.randint(20000, 55000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def _wait(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited: {process.stderr.read().decode(errors='replace')}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


@pytest.fixture(scope="module")
def gateway():
    base = Path(tempfile.mkdtemp(prefix="switchboard-tools-py-"))
    workspace = base / "work"
    control = base / "control"
    workspace.mkdir()
    control.mkdir()
    (base / "outside.txt").write_text("outside secret")
    policy = control / "policy.json"
    policy.write_text(json.dumps({"roots": [str(workspace)], "commands": {"shell": True, "allow_extra": ["sh", "tr"]}}))
    tools_port, gateway_port = _free_port(), _free_port()
    secret = "py-secret-" + str(random.random())
    common = dict(os.environ, SWITCHBOARD_SERVICE_SECRET=secret, SWITCHBOARD_LOG_LEVEL="warning")
    tools = subprocess.Popen(
        [str(BIN / "ToolService"), "--port", str(tools_port)],
        env=dict(common, SWITCHBOARD_POLICY_FILE=str(policy), SWITCHBOARD_AUDIT_LOG=str(control / "audit.jsonl")),
        stderr=subprocess.PIPE,
    )
    entry = "pytest:" + hashlib.sha256(KEY.encode()).hexdigest()
    gateway = subprocess.Popen(
        [str(BIN / "Gateway"), "--port", str(gateway_port)],
        env=dict(common, SWITCHBOARD_TOOLS_URL=f"http://127.0.0.1:{tools_port}", SWITCHBOARD_LEARN_URL="", SWITCHBOARD_API_KEYS=entry),
        stderr=subprocess.PIPE,
    )
    try:
        _wait(tools_port, tools)
        _wait(gateway_port, gateway)
        yield {"url": f"http://127.0.0.1:{gateway_port}/mcp", "workspace": workspace, "audit": control / "audit.jsonl", "base": base}
    finally:
        for process in (gateway, tools):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def run(url, calls):
    """Lists the tools, then makes each call in order; returns the tool names and the results."""

    async def main():
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {KEY}"})
        async with http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                listed = await client.list_tools()
                results = []
                for name, arguments in calls:
                    results.append(await client.call_tool(name, arguments))
                return [tool.name for tool in listed.tools], results

    return asyncio.run(main())


def text(result) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def test_every_tool_is_listed_with_its_schema(gateway):
    names, _ = run(gateway["url"], [])
    expected = {
        "execute_command", "start_process", "read_process_output", "send_input", "list_processes", "terminate_process",
        "check_command_exists", "read_file", "write_file", "edit_file", "list_directory", "search_files", "get_file_info",
        "create_directory", "move_file", "batch_file_operations", "get_system_info", "get_system_status",
    }
    assert expected <= set(names)


def test_file_tools_through_the_gateway(gateway):
    png = bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
    _, results = run(gateway["url"], [
        ("create_directory", {"path": "src"}),
        ("write_file", {"path": "src/app.py", "content": "def main():\n    return 1\n"}),
        ("edit_file", {"path": "src/app.py", "edits": [{"old_text": "return 1", "new_text": "return 2"}]}),
        ("read_file", {"path": "src/app.py", "tail": 1}),
        ("write_file", {"path": "logo.png", "content": base64.b64encode(png).decode(), "encoding": "base64"}),
        ("read_file", {"path": "logo.png"}),
        ("list_directory", {"depth": 2, "sizes": True}),
        ("search_files", {"query": "return 2", "context_lines": 1}),
        ("search_files", {"pattern": "*.py"}),
        ("get_file_info", {"path": "src/app.py"}),
        ("move_file", {"source": "src/app.py", "destination": "src/main.py"}),
        ("batch_file_operations", {"operations": [
            {"tool": "write_file", "arguments": {"path": "a.txt", "content": "a"}},
            {"tool": "read_file", "arguments": {"path": "a.txt"}},
        ]}),
        ("read_file", {"path": "../outside.txt"}),
    ])
    create, write, edit, tail, _, image, listing, content, names, info, move, batch, escape = results
    assert not create.is_error and create.structured_content["created"] is True
    assert write.structured_content["bytes"] == 25
    assert "+    return 2" in edit.structured_content["diff"]
    assert text(tail) == "    return 2"
    assert image.content[0].type == "image" and image.content[0].mime_type == "image/png"
    assert {"path": "src/app.py", "type": "file"}.items() <= listing.structured_content["entries"][-1].items()
    assert content.structured_content["results"][0]["line"] == 2
    assert content.structured_content["results"][0]["before"] == ["def main():"]
    assert [r["path"] for r in names.structured_content["results"]] == ["src/app.py"]
    assert info.structured_content["size"] == 25
    assert not move.is_error and (gateway["workspace"] / "src/main.py").exists()
    assert batch.structured_content["completed"] == 2
    assert escape.is_error and "path.outside_roots" in text(escape)
    assert "outside secret" not in text(escape)


def test_command_and_process_tools_through_the_gateway(gateway):
    script = "import sys\nprint('ready', flush=True)\nfor line in sys.stdin:\n    print('got ' + line.strip(), flush=True)"
    _, results = run(gateway["url"], [
        ("execute_command", {"command": "git", "args": ["--version"]}),
        ("execute_command", {"command": "echo one two | tr o 0", "shell": True}),
        ("execute_command", {"command": "dd", "args": ["if=/dev/zero", "count=1"]}),
        ("check_command_exists", {"command": "python3"}),
        ("start_process", {"command": "python3", "args": ["-u", "-c", script], "wait_ms": 3000}),
    ])
    version, piped, denied, exists, started = results
    assert version.structured_content["exit_code"] == 0 and version.structured_content["stdout"].startswith("git version")
    assert piped.structured_content["stdout"] == "0ne tw0\n"
    assert denied.is_error and "command.denied" in text(denied)
    assert exists.structured_content["allowed"] is True
    assert started.structured_content["lines"] == ["ready"]
    pid = started.structured_content["pid"]
    _, results = run(gateway["url"], [
        ("send_input", {"pid": pid, "input": "hello", "wait_ms": 3000}),
        ("list_processes", {}),
        ("read_process_output", {"pid": pid, "offset": -2}),
        ("terminate_process", {"pid": pid, "grace_ms": 500}),
    ])
    sent, listed, read, terminated = results
    assert sent.structured_content["lines"] == ["got hello"]
    assert any(p["pid"] == pid and p["running"] for p in listed.structured_content["processes"])
    assert read.structured_content["lines"] == ["ready", "got hello"]
    assert terminated.structured_content["running"] is False


def test_system_tools_and_the_audit_log(gateway):
    _, results = run(gateway["url"], [("get_system_info", {}), ("get_system_status", {})])
    info, status = results
    assert info.structured_content["cpus"] >= 1
    assert 0 <= status.structured_content["cpu"]["usage_percent"] <= 100
    assert status.structured_content["disks"][0]["path"] == str(gateway["workspace"])
    records = [json.loads(line) for line in gateway["audit"].read_text().splitlines()]
    assert records and all(r["principal"] == "pytest" for r in records)
    assert any(r["decision"] == "denied" and r["rule"] == "command.denied" for r in records)
