/// Small values several gateway replicas must agree on (leases, session records), with expiry: in Redis
/// when it is configured, in-process otherwise.
protocol SharedStore: Sendable {
    /// `"redis"` or `"in-process"`.
    var kind: String { get }
    func get(_ key: String) async throws -> [UInt8]?
    func set(_ key: String, _ value: [UInt8], ttl: Duration) async throws
    func delete(_ key: String) async throws
    /// Sets `key` only if it is absent (a lease): true when this caller got it.
    func claim(_ key: String, ttl: Duration) async throws -> Bool
}
