"""The same trivial tool as the gateway benchmark calls (`test_simple_text`), served by the official
MCP Python SDK (mcp 2.3.0, MCPServer over Streamable HTTP, JSON responses, one uvicorn worker)."""

import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

server = MCPServer("python-reference", version="1.0.0")


@server.tool()
def test_simple_text() -> str:
    """Returns a fixed text."""
    return "This is a simple text response for testing."


if __name__ == "__main__":
    app = server.streamable_http_app(json_response=True, stateless_http=True)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
