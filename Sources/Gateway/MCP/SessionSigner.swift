import Foundation
import SwitchboardCore

/// A handshake-era session as its `Mcp-Session-Id` describes it.
struct MCPSession: Sendable, Equatable {
    let id: String
    /// The protocol version agreed on in `initialize`.
    let version: String
    let expires: Date
}

/// Issues and checks self-validating `Mcp-Session-Id` values, so sessions need no server state:
/// they survive a gateway restart and work on every replica that shares the service secret.
///
/// An id is base64url of `format(1) ‖ expiry(4) ‖ version(4, yyyymmdd) ‖ nonce(12) ‖ mac(16)`, where mac
/// is HMAC-SHA-256 over the rest and the principal's name, with a key derived from the service secret.
/// A session presented by another principal, altered, or expired does not verify.
struct SessionSigner: Sendable {
    private let key: [UInt8]
    let lifetime: Duration
    private static let format: UInt8 = 1

    /// - Parameter secret: the service secret; when empty a random key is used and sessions end with the process.
    init(secret: String, lifetime: Duration) {
        let base = secret.isEmpty ? Digest.randomBytes(32) : Array(secret.utf8)
        key = Digest.hmacSHA256(key: base, data: Array("switchboard mcp session v1".utf8))
        self.lifetime = lifetime
    }

    func issue(principal: String, version: String, now: Date = Date()) -> MCPSession {
        let expires = UInt32(clamping: Int64(now.timeIntervalSince1970) + Int64(lifetime.seconds))
        var payload: [UInt8] = [Self.format]
        payload += Self.bigEndian(expires)
        payload += Self.bigEndian(Self.encode(version))
        payload += Digest.randomBytes(12)
        let id = Digest.base64URL(payload + mac(payload, principal: principal))
        return MCPSession(id: id, version: version, expires: Date(timeIntervalSince1970: TimeInterval(expires)))
    }

    /// The session an id describes, or nil when it is malformed, forged, another principal's or expired.
    func verify(_ id: String, principal: String, now: Date = Date()) -> MCPSession? {
        // Only the canonical spelling: another string decoding to the same bytes is another id.
        guard id.utf8.count <= 64, let bytes = Digest.base64URLDecode(id), bytes.count == 37, bytes[0] == Self.format, Digest.base64URL(bytes) == id else {
            return nil
        }
        let payload = Array(bytes[0..<21])
        guard Digest.constantTimeEquals(Array(bytes[21...]), mac(payload, principal: principal)) else { return nil }
        let expires = payload[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let version = payload[5..<9].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard TimeInterval(expires) > now.timeIntervalSince1970, let text = Self.decode(version) else { return nil }
        return MCPSession(id: id, version: text, expires: Date(timeIntervalSince1970: TimeInterval(expires)))
    }

    private func mac(_ payload: [UInt8], principal: String) -> [UInt8] {
        Array(Digest.hmacSHA256(key: key, data: payload + [0] + Array(principal.utf8)).prefix(16))
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// `2025-11-25` → 20251125.
    private static func encode(_ version: String) -> UInt32 {
        UInt32(version.filter(\.isNumber)) ?? 0
    }

    /// 20251125 → `2025-11-25`, when that is a version served.
    private static func decode(_ value: UInt32) -> String? {
        let digits = String(value)
        guard digits.count == 8 else { return nil }
        let text = "\(digits.prefix(4))-\(digits.dropFirst(4).prefix(2))-\(digits.suffix(2))"
        return ProtocolVersion.handshake.contains(text) ? text : nil
    }
}
