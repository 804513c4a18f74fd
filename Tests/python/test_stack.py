"""The stack started with `switchboard up -d`, driven by real MCP clients."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_script_reports_the_tool(stack):
    out = subprocess.run(
        [sys.executable, str(ROOT / "Tests/python/mcp_smoke.py"), stack.mcp_url, stack.api_key, "auto"],
        check=True, capture_output=True, text=True, timeout=60,
    )
    result = json.loads(out.stdout)
    assert "get_system_info" in result["tools"]
    assert result["is_error"] is False
    assert result["structured"]["cpus"] >= 1
    assert result["protocol_version"] in ("2025-11-25", "2026-07-28")


def test_fastmcp_client_lists_and_calls(stack):
    import asyncio

    from fastmcp import Client
    from fastmcp.client.transports import StreamableHttpTransport

    async def run():
        async with Client(StreamableHttpTransport(stack.mcp_url, auth=stack.api_key)) as client:
            tools = await client.list_tools()
            result = await client.call_tool("get_system_info", {})
            return [t.name for t in tools], result

    names, result = asyncio.run(run())
    assert "get_system_info" in names
    assert result.is_error is False
    assert result.structured_content["architecture"]


def test_wrong_key_is_refused(stack):
    import httpx2 as httpx

    response = httpx.post(stack.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                          headers={"Authorization": "Bearer wrong", "Accept": "application/json, text/event-stream"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
