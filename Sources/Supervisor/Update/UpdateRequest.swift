/// What `switchboard update` asks for on top of the compose file.
struct UpdateRequest: Sendable {
    var environment: [String: String] = [:]
    var removedEnvironment: [String] = []
    var binary: String?
    var force = false
}
