import SwitchboardCore

/// What the dispatcher needs to know about one request besides the message, whatever the transport.
struct MCPRequestContext: Sendable {
    let principal: String
    let era: ProtocolEra
    /// 2026-07-28: the capabilities this request declares (`{}` for handshake-era requests).
    var clientCapabilities: JSONValue = [:]
    /// Raw JSON of `_meta.progressToken`; progress is sent only when present.
    var progressToken: [UInt8]?
    /// The lowest level of `notifications/message` the client wants for this request; nil sends none.
    var logLevel: ToolLogLevel?
    /// Delivers a notification related to this request; nil when the transport cannot deliver one now.
    var notify: (@Sendable ([UInt8]) -> Void)?
    /// 2026-07-28 over HTTP: the `Mcp-Param-*` headers to check against the tool's arguments.
    var paramHeaders: [(token: String, value: String)]?
    /// The id the downstream tool call carries, so that a cancellation can reach it from any replica.
    var callID: String = RequestID.generate()
    /// Handshake era: whose `logging/setLevel` this request reads and writes (the session, else the principal).
    var sessionKey: String?

    /// Whether anything would be delivered if the tool reported progress or logs.
    var wantsNotifications: Bool { notify != nil && (progressToken != nil || logLevel != nil) }

    /// The downstream call id for a handshake-era request: derived from the session and the request id,
    /// so that `notifications/cancelled` names the same call on whichever gateway replica it arrives.
    static func callID(sessionKey: String, requestID: [UInt8]) -> String {
        String(Digest.hex(Digest.sha256(Array(sessionKey.utf8) + [0x0A] + requestID)).prefix(32))
    }
}

/// The dispatcher's answer to one request.
struct MCPReply: Sendable {
    /// The complete JSON-RPC response.
    let bytes: [UInt8]
    /// The error code when the response is an error (in the 2026-07-28 era it sets the HTTP status).
    var error: JSONRPCErrorCode?
    /// `initialize`: the protocol version agreed on.
    var negotiatedVersion: String?
}
