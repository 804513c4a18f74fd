"""Starts one stack with `switchboard up -d` on free ports for the Python tests, and stops it after.

The stack's tool service serves the MCP conformance fixtures (SWITCHBOARD_CONFORMANCE_FIXTURES=true),
which the conformance-mirror harness and the client tests call.
"""

import os
import random
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SWITCHBOARD_BIN", ROOT / ".build" / "debug"))


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _free_base(count: int) -> int:
    while True:
        base = random.randint(20000, 55000)
        if all(_free(base + i) for i in range(count)):
            return base


def pytest_configure(config):
    config.addinivalue_line("markers", "scenario(id): the official MCP conformance scenario a test mirrors")


@dataclass
class Stack:
    directory: Path
    base: int
    env: dict

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.base}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    @property
    def tools_urls(self) -> list[str]:
        """The tool service's two replicas (compose: replicas: 2)."""
        return [f"http://127.0.0.1:{self.base + 1}", f"http://127.0.0.1:{self.base + 2}"]

    @property
    def api_key(self) -> str:
        return (self.directory / ".switchboard" / "api-key").read_text().strip()

    @property
    def service_secret(self) -> str:
        return (self.directory / ".switchboard" / "service-secret").read_text().strip()

    def gateway_command_env(self) -> dict:
        """Environment for `Gateway --stdio` launched by a client against this stack's tool service."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SWITCHBOARD_TOOLS_URL": ",".join(self.tools_urls),
            "SWITCHBOARD_SERVICE_SECRET": self.service_secret,
            "SWITCHBOARD_LEARN_URL": "",
            "SWITCHBOARD_LOG_LEVEL": "warning",
        }

    def tool_metrics(self) -> str:
        import httpx2

        return "".join(httpx2.get(f"{url}/metrics", timeout=10).text for url in self.tools_urls)

    def switchboard(self, *args, check=True):
        return subprocess.run([str(BIN / "switchboard"), *args, "-f", str(ROOT / "compose/docker-compose.yml")],
                              cwd=self.directory, env=self.env, capture_output=True, text=True, timeout=240, check=check)


@pytest.fixture(scope="session")
def stack():
    base = _free_base(8)
    env = dict(os.environ)
    env.update({
        "SWITCHBOARD_GATEWAY_PORT": str(base), "SWITCHBOARD_TOOLS_PORT": str(base + 1),
        "SWITCHBOARD_LEARN_PORT": str(base + 3), "SWITCHBOARD_METRICS_PORT": str(base + 4),
        "SWITCHBOARD_CONTROL_PORT": str(base + 5), "SWITCHBOARD_PROMETHEUS_PORT": str(base + 6),
        "SWITCHBOARD_REDIS_PORT": str(base + 7),
        "SWITCHBOARD_CONFORMANCE_FIXTURES": "true",
    })
    env.pop("SWITCHBOARD_API_KEY", None)
    directory = Path(tempfile.mkdtemp(prefix="switchboard-pytest-"))
    s = Stack(directory, base, env)
    up = s.switchboard("up", "-d", check=False)
    assert up.returncode == 0, up.stderr + (directory / ".switchboard" / "supervisor.log").read_text(errors="replace")
    yield s
    s.switchboard("down")
