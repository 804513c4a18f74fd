"""Keep a Switchboard gateway busy with the official MCP Python SDK client until told to stop.

usage: mcp_load.py URL API_KEY STOP_FILE [CLIENTS]
CLIENTS sessions (default 4) call get_system_info in a loop. Once every session has had one answer the
script creates STOP_FILE + ".started"; when STOP_FILE exists it stops and prints one JSON object:
{"ok": n, "failed": m, "errors": [the first few failures]}.
"""

import asyncio
import json
import os
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def session(url: str, key: str, stop: str, counts: dict, errors: list, started: asyncio.Event, ready: list) -> None:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            first = True
            while not os.path.exists(stop):
                try:
                    result = await client.call_tool("get_system_info", {})
                    if result.is_error:
                        counts["failed"] += 1
                        errors.append(str(result.content)[:300])
                    else:
                        counts["ok"] += 1
                except Exception as error:  # every failure counts, whatever its kind
                    counts["failed"] += 1
                    errors.append(repr(error)[:300])
                if first:
                    first = False
                    ready.append(1)
                    if len(ready) == counts["clients"]:
                        started.set()


async def main(url: str, key: str, stop: str, clients: int) -> None:
    counts = {"ok": 0, "failed": 0, "clients": clients}
    errors: list = []
    started = asyncio.Event()
    ready: list = []

    async def mark_started() -> None:
        await started.wait()
        with open(stop + ".started", "w") as marker:
            marker.write("started\n")

    marker = asyncio.create_task(mark_started())
    await asyncio.gather(*(session(url, key, stop, counts, errors, started, ready) for _ in range(clients)))
    marker.cancel()
    print(json.dumps({"ok": counts["ok"], "failed": counts["failed"], "errors": errors[:5]}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 4))
