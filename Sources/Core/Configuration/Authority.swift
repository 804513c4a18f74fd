/// The host and port of a URL's authority: `host`, `host:port`, `:port`, `[v6]` or `[v6]:port`.
/// Either part may be absent; the caller supplies its defaults.
public struct Authority: Sendable, Equatable {
    /// Nil when the authority names no host (`:6380`, or nothing at all).
    public let host: String?
    /// Nil when the authority names no port.
    public let port: Int?

    /// Reads `text`, which holds no user information or path.
    /// - Throws: a message naming what is wrong (an unterminated IPv6 address, a port outside 1–65535).
    public init(_ text: Substring) throws(AuthorityError) {
        var hostPart = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw AuthorityError(message: "unterminated IPv6 address") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw AuthorityError(message: "port '\(after.dropFirst())' is not a number from 1 to 65535") }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw AuthorityError(message: "port '\(portText)' is not a number from 1 to 65535")
            }
            port = number
        } else {
            port = nil
        }
        host = hostPart.isEmpty ? nil : String(hostPart)
    }
}

/// Why an authority could not be read.
public struct AuthorityError: Error, Sendable {
    public let message: String
}
