/// The MCP revisions the gateway serves, and which era a request belongs to.
enum ProtocolVersion {
    /// Stateless revisions: every request carries its `_meta` envelope (no `initialize`, no sessions).
    static let modern = ["2026-07-28"]
    /// Handshake revisions (`initialize`, sessions), newest first.
    static let handshake = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    /// Every revision served, newest first (`server/discover`'s `supportedVersions`).
    static let all = modern + handshake
    /// What a handshake-era request that names no version is taken to speak (spec: 2025-03-26).
    static let assumedHandshake = "2025-03-26"

    /// Version negotiation: the requested version when served, else the newest (a counter-offer, never an error).
    static func negotiate(_ requested: String?) -> String {
        guard let requested, handshake.contains(requested) else { return handshake[0] }
        return requested
    }

    /// Only 2025-03-26 had JSON-RPC batches: they were added then and removed in 2025-06-18.
    static func acceptsBatches(_ version: String) -> Bool {
        version == "2025-03-26"
    }
}

/// The era of one request: the handshake protocol (with the version in force) or the stateless one.
enum ProtocolEra: Sendable, Equatable {
    case handshake(String)
    case modern(String)

    var isModern: Bool {
        if case .modern = self { return true }
        return false
    }
}
