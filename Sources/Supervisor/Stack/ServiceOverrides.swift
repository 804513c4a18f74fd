/// What `switchboard update` changed on top of the compose file; kept for later updates.
struct ServiceOverrides: Sendable, Equatable {
    var environment: [String: String] = [:]
    var removedEnvironment: Set<String> = []
    /// A program given with `--binary`, replacing the compose file's.
    var binary: String?
    var forceUpdate = 0
}
