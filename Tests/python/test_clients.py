"""Real MCP clients against the stack's gateway: the official Python SDK (mcp 2.3.0) in its three modes,
FastMCP's client, the SDK's stdio transport launching `Gateway --stdio`, and its HTTP+SSE transport."""

import asyncio
import re
import time

import anyio
import pytest

from conftest import BIN
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

MODES = {"auto": "2026-07-28", "legacy": "2025-11-25", "2026-07-28": "2026-07-28"}


def connect(stack, mode, **options):
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {stack.api_key}"})
    return http, Client(streamable_http_client(stack.mcp_url, http_client=http), mode=mode, **options)


def cancelled_calls(stack, tool):
    pattern = re.compile(rf'switchboard_tool_calls_total\{{[^}}]*tool="{tool}"[^}}]*outcome="cancelled"[^}}]*\}} (\d+)')
    return sum(int(count) for count in pattern.findall(stack.tool_metrics()))


def gateway_cancellations(stack, reason):
    import httpx2

    text = httpx2.get(f"{stack.url}/metrics", timeout=10).text
    match = re.search(rf'switchboard_mcp_cancellations_total\{{reason="{reason}"\}} (\d+)', text)
    return int(match.group(1)) if match else 0


def wait_for_cancelled(stack, tool, before, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cancelled_calls(stack, tool) > before:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("mode", list(MODES))
def test_sdk_client_lists_calls_and_streams(stack, mode):
    async def run():
        progress, logs = [], []

        async def on_log(params):
            logs.append(params.data)

        http, client = connect(stack, mode, logging_callback=on_log, log_level="info")
        async with http, client:
            version = client.protocol_version
            names = [tool.name for tool in (await client.list_tools()).tools]
            text = await client.call_tool("test_simple_text", {})
            structured = await client.call_tool("get_system_info", {})
            failing = await client.call_tool("test_error_handling", {})

            async def on_progress(value, total, message):
                progress.append((value, total))

            with_progress = await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            if mode == "legacy":
                await client.set_logging_level("info")
            await client.call_tool("test_tool_with_logging", {})
            mirrored = await client.call_tool("test_mcp_param_header", {"region": "us-west1", "text": "hi"})
            return version, names, text, structured, failing, with_progress, progress, logs, mirrored

    version, names, text, structured, failing, with_progress, progress, logs, mirrored = asyncio.run(run())
    assert version == MODES[mode]
    assert {"get_system_info", "test_simple_text", "test_tool_with_progress"} <= set(names)
    assert text.is_error is False and text.content[0].text == "This is a simple text response for testing."
    assert structured.structured_content["cpus"] >= 1
    assert failing.is_error is True and "intentionally" in failing.content[0].text
    assert with_progress.is_error is False
    assert progress == [(0, 100), (50, 100), (100, 100)]
    assert logs == ["Tool execution started", "Tool processing data", "Tool execution completed"]
    assert mirrored.content[0].text == "us-west1:hi"


@pytest.mark.parametrize("mode", list(MODES))
def test_sdk_client_unknown_tool_is_an_error(stack, mode):
    from mcp import MCPError

    async def run():
        http, client = connect(stack, mode)
        async with http, client:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("no_such_tool", {})
            return raised.value

    error = asyncio.run(run())
    assert error.error.code == -32602


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_sdk_client_cancellation_stops_the_tool(stack, mode):
    """Legacy: abandoning the call sends notifications/cancelled. 2026-07-28: it closes the request."""
    before = cancelled_calls(stack, "test_slow_operation")
    reason = "notification" if mode == "legacy" else "disconnect"
    seen = gateway_cancellations(stack, reason)

    async def run():
        http, client = connect(stack, mode)
        async with http, client:
            with anyio.move_on_after(1.5):
                await client.call_tool("test_slow_operation", {"seconds": 60})
            # The connection stays usable afterwards.
            return await client.call_tool("test_simple_text", {})

    after = asyncio.run(run())
    assert after.is_error is False
    assert wait_for_cancelled(stack, "test_slow_operation", before)
    assert gateway_cancellations(stack, reason) > seen


def test_fastmcp_client(stack):
    from fastmcp import Client as FastMCPClient
    from fastmcp.client.transports import StreamableHttpTransport

    async def run():
        async with FastMCPClient(StreamableHttpTransport(stack.mcp_url, auth=stack.api_key)) as client:
            tools = await client.list_tools()
            text = await client.call_tool("test_simple_text", {})
            image = await client.call_tool("test_image_content", {})
            error = await client.call_tool("test_error_handling", {}, raise_on_error=False)
            progress = []

            async def on_progress(value, total, message):
                progress.append(value)

            await client.call_tool("test_tool_with_progress", {}, progress_handler=on_progress)
            return [t.name for t in tools], text, image, error, progress

    names, text, image, error, progress = asyncio.run(run())
    assert "test_simple_text" in names
    assert text.content[0].text == "This is a simple text response for testing."
    assert image.content[0].mime_type == "image/png"
    assert error.is_error is True
    assert progress == [0, 50, 100]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_stdio_gateway_launched_by_the_sdk_client(stack, mode):
    server = StdioServerParameters(command=str(BIN / "Gateway"), args=["--stdio"], env=stack.gateway_command_env())

    async def run():
        async with Client(server, mode=mode) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            result = await client.call_tool("test_simple_text", {})
            progress = []

            async def on_progress(value, total, message):
                progress.append(value)

            await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            return client.protocol_version, names, result, progress

    version, names, result, progress = asyncio.run(run())
    assert version == MODES[mode]
    assert "test_simple_text" in names
    assert result.content[0].text == "This is a simple text response for testing."
    assert progress == [0, 50, 100]


def test_legacy_sse_transport_with_the_sdk_client(stack):
    async def run():
        transport = sse_client(stack.url + "/sse", headers={"Authorization": f"Bearer {stack.api_key}"})
        async with Client(transport, mode="legacy") as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            result = await client.call_tool("test_embedded_resource", {})
            return client.protocol_version, names, result

    version, names, result = asyncio.run(run())
    assert version in ("2025-11-25", "2024-11-05")
    assert "test_embedded_resource" in names
    assert result.content[0].resource.uri.startswith("test://")
