"""Raw MCP over Streamable HTTP for the conformance-mirror harness: each request is built by hand
(as the official conformance suite does), and answers are read whether they are JSON or SSE."""

import json
from dataclasses import dataclass, field

import httpx2

MODERN = "2026-07-28"
LATEST_HANDSHAKE = "2025-11-25"


def envelope(version: str = MODERN, capabilities: dict | None = None, **extra) -> dict:
    meta = {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": {"name": "conformance-mirror", "version": "1.0.0"},
        "io.modelcontextprotocol/clientCapabilities": capabilities if capabilities is not None else {},
    }
    meta.update(extra)
    return meta


@dataclass
class Answer:
    status: int
    headers: httpx2.Headers
    text: str
    messages: list = field(default_factory=list)

    @property
    def json(self):
        """The JSON-RPC response: the JSON body, or the last message of an SSE body."""
        if self.messages:
            return self.messages[-1]
        return json.loads(self.text) if self.text else None

    @property
    def notifications(self) -> list:
        return [m for m in self.messages if "method" in m]

    @property
    def is_sse(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/event-stream")


def parse_sse(text: str) -> list:
    messages = []
    for frame in text.replace("\r\n", "\n").split("\n\n"):
        lines = frame.split("\n")
        data = [line[5:].lstrip() for line in lines if line.startswith("data:")]
        event = next((line[6:].strip() for line in lines if line.startswith("event:")), "message")
        if data and event == "message" and "".join(data):
            messages.append(json.loads("\n".join(data)))
    return messages


class Wire:
    """Sends JSON-RPC messages to one MCP endpoint with a bearer key."""

    def __init__(self, url: str, key: str):
        self.url = url
        self.key = key
        self.client = httpx2.Client(timeout=30)
        self.next_id = 0

    def headers(self, **extra) -> dict:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json",
                   "Accept": "application/json, text/event-stream"}
        headers.update({k.replace("_", "-"): v for k, v in extra.items() if v is not None})
        return headers

    def id(self) -> int:
        self.next_id += 1
        return self.next_id

    def send(self, body, headers: dict | None = None, method: str = "POST") -> Answer:
        content = body if isinstance(body, (str, bytes)) else json.dumps(body)
        response = self.client.request(method, self.url, content=content if method == "POST" else None,
                                       headers=headers if headers is not None else self.headers())
        answer = Answer(response.status_code, response.headers, response.text)
        if answer.is_sse:
            answer.messages = parse_sse(response.text)
        return answer

    def request(self, method: str, params: dict | None = None, session: str | None = None,
                version: str | None = None, headers: dict | None = None) -> Answer:
        """A handshake-era request."""
        body = {"jsonrpc": "2.0", "id": self.id(), "method": method}
        if params is not None:
            body["params"] = params
        sent = self.headers(**{"Mcp-Session-Id": session, "MCP-Protocol-Version": version})
        sent.update(headers or {})
        return self.send(body, sent)

    def modern(self, method: str, params: dict | None = None, name: str | None = None, meta: dict | None = None,
               headers: dict | None = None, request_id=None) -> Answer:
        """A 2026-07-28 request whose routing headers agree with its body."""
        params = dict(params or {})
        params["_meta"] = meta if meta is not None else envelope()
        body = {"jsonrpc": "2.0", "id": request_id if request_id is not None else self.id(), "method": method, "params": params}
        sent = self.headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": method, "Mcp-Name": name})
        sent.update(headers or {})
        return self.send(body, sent)

    def initialize(self, version: str = LATEST_HANDSHAKE) -> tuple[Answer, str | None]:
        answer = self.request("initialize", {"protocolVersion": version, "capabilities": {},
                                             "clientInfo": {"name": "conformance-mirror", "version": "1.0.0"}})
        session = answer.headers.get("mcp-session-id")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"},
                  self.headers(**{"Mcp-Session-Id": session, "MCP-Protocol-Version": version}))
        return answer, session
