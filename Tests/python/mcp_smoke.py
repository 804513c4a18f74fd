"""Drive a Switchboard gateway with the official MCP Python SDK client.

usage: mcp_smoke.py URL API_KEY [auto|legacy|2026-07-28]
Prints one JSON object: the negotiated version, the tool names and the get_system_info result.
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main(url: str, key: str, mode: str) -> None:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            tools = await client.list_tools()
            result = await client.call_tool("get_system_info", {})
            print(json.dumps({
                "protocol_version": client.protocol_version,
                "tools": [tool.name for tool in tools.tools],
                "is_error": bool(result.is_error),
                "structured": result.structured_content,
            }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "auto"))
