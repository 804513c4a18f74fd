/// Which service and replica this process is, and its version.
public struct ServiceIdentity: Sendable {
    /// The suite's version; every service reports it in `/health` and `switchboard_build_info`.
    public static let version = "0.1.0"

    public let service: String
    public let version: String
    public let replica: Int

    public init(service: String, version: String = ServiceIdentity.version, replica: Int = 1) {
        self.service = service
        self.version = version
        self.replica = replica
    }
}
