/// Why a Redis operation failed. The code says what kind of failure it was, the message what exactly.
public struct RedisError: Error, CustomStringConvertible, Sendable {
    /// The kinds of failure; new codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        /// The URL or another setting is not usable.
        public static let configuration = Code(name: "configuration")
        /// The TCP or unix-socket connection could not be made.
        public static let connect = Code(name: "connect")
        /// AUTH or SELECT was refused.
        public static let handshake = Code(name: "handshake")
        /// The connection broke while a command was in flight.
        public static let io = Code(name: "io")
        /// No reply within the command timeout.
        public static let timeout = Code(name: "timeout")
        /// The server answered with an error reply (`-ERR …`).
        public static let server = Code(name: "server")
        /// The reply was not what the caller expected.
        public static let unexpectedReply = Code(name: "unexpected_reply")
        /// Redis is down and the client is waiting before it tries again (fails fast).
        public static let unavailable = Code(name: "unavailable")
    }

    public let code: Code
    public let message: String
    public var description: String { "redis \(code): \(message)" }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether the server is (or may be) unreachable, as opposed to a bad command or reply.
    public var isConnectionFailure: Bool {
        code == .connect || code == .io || code == .timeout || code == .unavailable || code == .handshake
    }
}
