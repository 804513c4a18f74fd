import SwitchboardCore

/// Checks client API keys against SHA-256 hashes; the keys themselves are never stored.
///
/// This is the authentication seam: an OAuth 2.1 bearer validator will conform to the same
/// ``ClientAuthenticator`` protocol.
protocol ClientAuthenticator: Sendable {
    /// The principal for an `Authorization` header value, or nil when it is missing or wrong.
    func principal(forAuthorization header: String?) -> String?
}

struct APIKeyAuthenticator: ClientAuthenticator {
    struct Entry: Sendable {
        let principal: String
        let hash: [UInt8]
    }

    let entries: [Entry]

    /// Entries as `principal:sha256-hex`.
    init(configuration entries: [String]) throws(ConfigurationError) {
        var parsed: [Entry] = []
        for entry in entries {
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].count == 64, let hash = Self.decodeHex(parts[1]) else {
                throw ConfigurationError(description: "invalid entry in SWITCHBOARD_API_KEYS: expected principal:<64 hex digits of SHA-256>")
            }
            parsed.append(Entry(principal: parts[0], hash: hash))
        }
        self.entries = parsed
    }

    /// The configuration entry for a key.
    static func entry(principal: String, key: String) -> String {
        "\(principal):\(Digest.hex(Digest.sha256(Array(key.utf8))))"
    }

    func principal(forAuthorization header: String?) -> String? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let hash = Digest.sha256(Array(header.utf8.dropFirst(7)))
        var found: String?
        // Compare against every entry so timing does not depend on which one matched.
        for entry in entries where Digest.constantTimeEquals(entry.hash, hash) {
            found = entry.principal
        }
        return found
    }

    private static func decodeHex(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }
}
