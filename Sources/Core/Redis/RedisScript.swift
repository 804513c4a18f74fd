import Synchronization

/// A Lua script run with `EVALSHA`. The first use loads it (`SCRIPT LOAD` pipelined with an `EVAL`);
/// when the server has forgotten it (a restart or `SCRIPT FLUSH` answers `NOSCRIPT`), `EVAL` runs and
/// reloads it.
public final class RedisScript: Sendable {
    public let source: String
    private let loadedSHA = Mutex<String?>(nil)

    public init(_ source: String) {
        self.source = source
    }

    /// The SHA-1 the server reported, once loaded.
    public var sha: String? { loadedSHA.withLock { $0 } }

    func remember(_ sha: String) {
        loadedSHA.withLock { $0 = sha }
    }
}
