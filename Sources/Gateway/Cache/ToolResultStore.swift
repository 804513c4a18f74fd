/// A cached tool result and when it was stored.
struct CachedResult: Sendable, Equatable {
    /// The `CallToolResult` bytes exactly as the tool produced them.
    let bytes: [UInt8]
    /// Milliseconds since the Unix epoch.
    let storedAt: Int64
}

/// Where cached tool results live: in Redis (shared by every gateway replica) or in-process.
///
/// Every invalidation increments an epoch. A miss reads the epoch with its lookup and stores only if the
/// epoch is unchanged, so a result computed while a write was invalidating can never outlive it.
protocol ToolResultStore: Sendable {
    /// `"redis"` or `"in-process"`, for `/ready` and logs.
    var kind: String { get }
    /// The live entry for `key` (nil on a miss) and the current epoch, in one round trip.
    func lookup(_ key: String) async throws -> (entry: CachedResult?, epoch: Int64)
    /// The current epoch.
    func epoch() async throws -> Int64
    /// Stores `result` for `ttl` with `tags` unless the epoch moved past `epoch`; returns whether it stored.
    func store(_ key: String, _ result: CachedResult, ttl: Duration, tags: [String], ifEpoch epoch: Int64) async throws -> Bool
    /// Removes every entry carrying one of `tags` and increments the epoch; returns the number of entries removed and the new epoch.
    func invalidate(tags: [String]) async throws -> (removed: Int, epoch: Int64)
    /// Removes every entry and increments the epoch.
    func invalidateAll() async throws -> Int
    /// Live entries.
    func count() async throws -> Int
}
