"""The official MCP conformance suite's server checks, re-implemented against the stack's gateway.

The suite itself (@modelcontextprotocol/conformance, TypeScript) needs npm, which is unreachable here;
each test names the scenario it mirrors with `@pytest.mark.scenario("<id>")`, so that a run of the
real suite elsewhere maps one to one. Scenarios that need features the gateway does not offer
(resources, prompts, completion, sampling and elicitation requests) are not mirrored.
"""

import concurrent.futures
import json
import re

import pytest

from mcp_wire import LATEST_HANDSHAKE, MODERN, Wire, envelope

TOOL_NAME = re.compile(r"^[A-Za-z0-9_./-]{1,64}$")


@pytest.fixture
def wire(stack):
    return Wire(stack.mcp_url, stack.api_key)


@pytest.fixture
def session(wire):
    answer, session = wire.initialize()
    assert answer.status == 200
    return session


def call(wire, session, name, arguments=None, meta=None, request_id=None):
    params = {"name": name}
    if arguments is not None:
        params["arguments"] = arguments
    if meta is not None:
        params["_meta"] = meta
    return wire.request("tools/call", params, session=session, version=LATEST_HANDSHAKE)


# MARK: Lifecycle and utilities (2025-11-25 requirements)


@pytest.mark.scenario("server-initialize")
def test_server_initialize(wire):
    answer, session = wire.initialize()
    result = answer.json["result"]
    assert result["protocolVersion"] == LATEST_HANDSHAKE
    assert result["serverInfo"]["name"] and result["serverInfo"]["version"]
    assert "tools" in result["capabilities"]
    # Only what is implemented is declared.
    assert set(result["capabilities"]) == {"tools", "logging"}
    assert session and all(0x21 <= ord(c) <= 0x7E for c in session)
    # An unknown version gets a counter-offer, never an error.
    offer = wire.request("initialize", {"protocolVersion": "1999-01-01", "capabilities": {},
                                        "clientInfo": {"name": "old", "version": "0"}})
    assert offer.json["result"]["protocolVersion"] == LATEST_HANDSHAKE


@pytest.mark.scenario("ping")
def test_ping(wire, session):
    answer = wire.request("ping", session=session, version=LATEST_HANDSHAKE)
    assert answer.status == 200 and answer.json["result"] == {}


@pytest.mark.scenario("logging-set-level")
def test_logging_set_level(wire, session):
    answer = wire.request("logging/setLevel", {"level": "info"}, session=session, version=LATEST_HANDSHAKE)
    assert answer.json["result"] == {}
    bad = wire.request("logging/setLevel", {"level": "shouting"}, session=session, version=LATEST_HANDSHAKE)
    assert bad.json["error"]["code"] == -32602


@pytest.mark.scenario("server-session-lifecycle")
def test_server_session_lifecycle(wire, session):
    # Sessions are signed and expire on their own: DELETE is answered 405, which the scenario accepts,
    # and the session keeps working (no 404 a client could not recover from).
    deleted = wire.send("", wire.headers(**{"Mcp-Session-Id": session, "MCP-Protocol-Version": LATEST_HANDSHAKE}), method="DELETE")
    assert deleted.status == 405
    assert wire.request("ping", session=session, version=LATEST_HANDSHAKE).status == 200
    forged = session[:-2] + ("AA" if not session.endswith("AA") else "BB")
    assert wire.request("ping", session=forged, version=LATEST_HANDSHAKE).status == 404


@pytest.mark.scenario("dns-rebinding-protection")
def test_dns_rebinding_protection(wire, stack):
    evil = wire.request("ping", headers={"Host": "evil.example.com", "Origin": "http://evil.example.com"})
    assert 400 <= evil.status < 500
    for host in ("localhost", "127.0.0.1", "[::1]"):
        ok = wire.request("ping", headers={"Host": f"{host}:{stack.base}", "Origin": f"http://{host}:{stack.base}"})
        assert ok.status == 200, host


@pytest.mark.scenario("server-sse-multiple-streams")
def test_server_sse_multiple_streams(wire, session):
    def one(token):
        return call(Wire(wire.url, wire.key), session, "test_tool_with_progress", {}, {"progressToken": token})

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(one, ["a", "b", "c"]))
    for token, answer in zip(["a", "b", "c"], answers):
        assert answer.status == 200 and answer.is_sse
        assert answer.json["result"]["isError"] is False
        # Each stream carries only its own request's notifications.
        assert {n["params"]["progressToken"] for n in answer.notifications} == {token}


# MARK: Tools


@pytest.mark.scenario("tools-list")
def test_tools_list(wire, session):
    tools, cursor = [], None
    while True:
        answer = wire.request("tools/list", {"cursor": cursor} if cursor else None, session=session, version=LATEST_HANDSHAKE)
        result = answer.json["result"]
        tools += result["tools"]
        cursor = result.get("nextCursor")
        if not cursor:
            break
    names = [t["name"] for t in tools]
    assert names == sorted(names) and len(set(names)) == len(names)
    for tool in tools:
        assert TOOL_NAME.match(tool["name"]), tool["name"]  # tools-name-format
        assert tool["description"]
        assert tool["inputSchema"]["type"] == "object"
        annotations = tool["annotations"]
        assert {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} <= set(annotations)
    assert {"test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource",
            "test_multiple_content_types", "test_tool_with_logging", "test_error_handling",
            "test_tool_with_progress"} <= set(names)
    structured = next(t for t in tools if t["name"] == "get_system_info")
    assert structured["outputSchema"]["type"] == "object"


@pytest.mark.scenario("tools-call-simple-text")
def test_tools_call_simple_text(wire, session):
    result = call(wire, session, "test_simple_text").json["result"]
    assert result["content"] == [{"type": "text", "text": "This is a simple text response for testing."}]


@pytest.mark.scenario("tools-call-image")
def test_tools_call_image(wire, session):
    image = call(wire, session, "test_image_content", {}).json["result"]["content"][0]
    assert image["type"] == "image" and image["mimeType"] == "image/png"
    import base64
    assert base64.b64decode(image["data"]).startswith(b"\x89PNG")


@pytest.mark.scenario("tools-call-audio")
def test_tools_call_audio(wire, session):
    audio = call(wire, session, "test_audio_content", {}).json["result"]["content"][0]
    assert audio["type"] == "audio" and audio["mimeType"] == "audio/wav" and audio["data"]


@pytest.mark.scenario("tools-call-embedded-resource")
def test_tools_call_embedded_resource(wire, session):
    resource = call(wire, session, "test_embedded_resource", {}).json["result"]["content"][0]
    assert resource["type"] == "resource"
    assert resource["resource"] == {"uri": "test://embedded-resource", "mimeType": "text/plain",
                                    "text": "This is an embedded resource content."}


@pytest.mark.scenario("tools-call-mixed-content")
def test_tools_call_mixed_content(wire, session):
    content = call(wire, session, "test_multiple_content_types", {}).json["result"]["content"]
    assert [c["type"] for c in content] == ["text", "image", "resource"]
    assert json.loads(content[2]["resource"]["text"]) == {"test": "data", "value": 123}


@pytest.mark.scenario("tools-call-with-logging")
def test_tools_call_with_logging(wire, session):
    wire.request("logging/setLevel", {"level": "debug"}, session=session, version=LATEST_HANDSHAKE)
    answer = call(wire, session, "test_tool_with_logging", {})
    logs = [n["params"] for n in answer.notifications if n["method"] == "notifications/message"]
    assert [log["data"] for log in logs] == ["Tool execution started", "Tool processing data", "Tool execution completed"]
    assert all(log["level"] == "info" for log in logs)
    assert answer.json["result"]["isError"] is False


@pytest.mark.scenario("tools-call-error")
def test_tools_call_error(wire, session):
    result = call(wire, session, "test_error_handling", {}).json["result"]
    assert result["isError"] is True and result["content"][0]["text"]


@pytest.mark.scenario("tools-call-with-progress")
def test_tools_call_with_progress(wire, session):
    answer = call(wire, session, "test_tool_with_progress", {}, {"progressToken": "progress-test-1"})
    updates = [n["params"] for n in answer.notifications if n["method"] == "notifications/progress"]
    assert [u["progress"] for u in updates] == [0, 50, 100]
    assert all(u["progressToken"] == "progress-test-1" and u["total"] == 100 for u in updates)
    assert answer.json["result"]["content"][0]["text"]


def test_unknown_tool_is_invalid_params(wire, session):
    answer = call(wire, session, "no_such_tool")
    assert answer.status == 200 and answer.json["error"]["code"] == -32602


def test_batches_are_rejected_from_2025_06_18(wire, session):
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "ping"}]
    answer = wire.send(batch, wire.headers(**{"Mcp-Session-Id": session, "MCP-Protocol-Version": LATEST_HANDSHAKE}))
    assert answer.status == 400 and answer.json["error"]["code"] == -32600


def test_the_get_stream_is_served_or_refused_properly(wire, session, stack):
    import httpx2

    headers = wire.headers(**{"Mcp-Session-Id": session, "MCP-Protocol-Version": LATEST_HANDSHAKE})
    headers["Accept"] = "text/event-stream"
    with httpx2.stream("GET", stack.mcp_url, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")


# MARK: 2026-07-28 (server-stateless, caching)


@pytest.mark.scenario("server-stateless")
@pytest.mark.parametrize("defect", ["missing-meta", "missing-protocol-version", "missing-client-capabilities"])
def test_stateless_request_meta_invalid(wire, defect):
    meta = envelope()
    if defect == "missing-protocol-version":
        del meta["io.modelcontextprotocol/protocolVersion"]
    if defect == "missing-client-capabilities":
        del meta["io.modelcontextprotocol/clientCapabilities"]
    body = {"jsonrpc": "2.0", "id": 301, "method": "tools/list", "params": {} if defect == "missing-meta" else {"_meta": meta}}
    answer = wire.send(body, wire.headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"}))
    assert answer.status == 400
    assert answer.json["error"]["code"] == -32602
    assert answer.json["id"] == 301


@pytest.mark.scenario("server-stateless")
def test_stateless_discover_and_identity(wire):
    meta = envelope()
    del meta["io.modelcontextprotocol/clientInfo"]
    answer = wire.modern("server/discover", meta=meta)  # clientInfo is optional
    assert answer.status == 200
    result = answer.json["result"]
    assert MODERN in result["supportedVersions"]
    assert result["resultType"] == "complete"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "switchboard"
    # Capabilities match handlers: tools are served, prompts are not declared and not served.
    assert "tools" in result["capabilities"] and "prompts" not in result["capabilities"]
    assert wire.modern("tools/list").status == 200
    prompts = wire.modern("prompts/list")
    assert prompts.status == 404 and prompts.json["error"]["code"] == -32601


@pytest.mark.scenario("server-stateless")
def test_stateless_versions_and_headers(wire):
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": envelope("2099-01-01")}}
    unsupported = wire.send(body, wire.headers(**{"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"}))
    assert unsupported.status == 400 and unsupported.json["error"]["code"] == -32022
    assert unsupported.json["error"]["data"]["requested"] == "2099-01-01"
    assert MODERN in unsupported.json["error"]["data"]["supported"]
    body = {"jsonrpc": "2.0", "id": 8, "method": "tools/list", "params": {"_meta": envelope()}}
    absent = wire.send(body, wire.headers(**{"Mcp-Method": "tools/list"}))
    assert absent.status == 400 and absent.json["error"]["code"] == -32020 and absent.json["id"] == 8
    altered = wire.send(body, wire.headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": "Tools/List"}))
    assert altered.status == 400 and altered.json["error"]["code"] == -32020
    # Header names are case-insensitive.
    cased = wire.send(body, wire.headers(**{"mcp-protocol-version": MODERN, "MCP-METHOD": "tools/list"}))
    assert cased.status == 200


@pytest.mark.scenario("server-stateless")
def test_stateless_undeclared_capability(wire):
    refused = wire.modern("tools/call", {"name": "test_missing_capability", "arguments": {}}, name="test_missing_capability", request_id=401)
    assert refused.status == 400 and refused.json["error"]["code"] == -32021 and refused.json["id"] == 401
    assert refused.json["error"]["data"]["requiredCapabilities"] == {"sampling": {}}
    served = wire.modern("tools/call", {"name": "test_missing_capability", "arguments": {}}, name="test_missing_capability",
                         meta=envelope(capabilities={"sampling": {}}))
    assert served.json["result"]["content"][0]["text"] == "Success"


@pytest.mark.scenario("server-stateless")
@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"])
def test_stateless_removed_methods(wire, method):
    answer = wire.modern(method, request_id=500)
    assert answer.status == 404 and answer.json["error"]["code"] == -32601 and answer.json["id"] == 500


@pytest.mark.scenario("server-stateless")
def test_stateless_no_logs_without_log_level(wire):
    quiet = wire.modern("tools/call", {"name": "test_tool_with_logging", "arguments": {}}, name="test_tool_with_logging")
    assert not any(n.get("method") == "notifications/message" for n in quiet.messages)
    assert quiet.json["result"]["resultType"] == "complete"
    loud = wire.modern("tools/call", {"name": "test_tool_with_logging", "arguments": {}}, name="test_tool_with_logging",
                       meta=envelope(**{"io.modelcontextprotocol/logLevel": "info"}))
    assert len([n for n in loud.notifications if n["method"] == "notifications/message"]) == 3
    # Responses carry only notifications related to the request, never server-to-client requests.
    assert all("id" not in n for n in loud.notifications)


@pytest.mark.scenario("server-stateless")
def test_stateless_listen_acknowledges_first(stack):
    import httpx2

    headers = {"Authorization": f"Bearer {stack.api_key}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"}
    body = {"jsonrpc": "2.0", "id": "L9", "method": "subscriptions/listen",
            "params": {"notifications": {"toolsListChanged": True, "resourceSubscriptions": ["file:///x"]}, "_meta": envelope()}}
    with httpx2.stream("POST", stack.mcp_url, json=body, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        buffer = ""
        for chunk in response.iter_text():
            buffer += chunk
            if "\n\n" in buffer:
                break
    from mcp_wire import parse_sse
    first = parse_sse(buffer)[0]
    assert first["method"] == "notifications/subscriptions/acknowledged"
    assert first["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "L9"
    assert first["params"]["notifications"] == {"toolsListChanged": True}


@pytest.mark.scenario("caching")
def test_caching_hints(wire):
    listed = wire.modern("tools/list").json["result"]
    assert isinstance(listed["ttlMs"], int) and listed["ttlMs"] >= 0
    assert listed["cacheScope"] in ("public", "private")
    discovered = wire.modern("server/discover").json["result"]
    assert discovered["ttlMs"] >= 0 and discovered["cacheScope"] in ("public", "private")
    called = wire.modern("tools/call", {"name": "test_simple_text"}, name="test_simple_text").json["result"]
    assert "ttlMs" not in called and called["resultType"] == "complete"


@pytest.mark.scenario("http-standard-headers")
def test_mcp_param_headers(wire):
    params = {"name": "test_mcp_param_header", "arguments": {"region": "us-west1", "text": "hi"}}
    missing = wire.modern("tools/call", params, name="test_mcp_param_header")
    assert missing.status == 400 and missing.json["error"]["code"] == -32020
    bad_base64 = wire.modern("tools/call", params, name="test_mcp_param_header", headers={"Mcp-Param-Region": "=?base64?dXMtd2VzdDE?="})
    assert bad_base64.status == 400 and bad_base64.json["error"]["code"] == -32020
    literal = wire.modern("tools/call", params, name="test_mcp_param_header", headers={"Mcp-Param-Region": "us-west1"})
    assert literal.json["result"]["content"][0]["text"] == "us-west1:hi"
    encoded = wire.modern("tools/call", params, name="test_mcp_param_header", headers={"mcp-param-region": "=?base64?dXMtd2VzdDE=?="})
    assert encoded.json["result"]["content"][0]["text"] == "us-west1:hi"


def test_discover_probe_fallback_is_prompt(stack):
    """What current clients send first: answered at once, 401 without a key, never a hang."""
    import time

    wire = Wire(stack.mcp_url, stack.api_key)
    start = time.monotonic()
    ok = wire.modern("server/discover")
    assert ok.status == 200 and time.monotonic() - start < 2
    anonymous = Wire(stack.mcp_url, "wrong").modern("server/discover")
    assert anonymous.status == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
