import Synchronization
import SwitchboardCore

/// Holds the published policy: a new version (naming its parent) only when the content changed, with
/// its bytes and ETag ready for `GET /v1/policy`.
final class PolicyPublisher: Sendable {
    /// One published policy.
    struct Published: Sendable {
        var version: Int
        var parent: Int?
        var modelVersion: Int?
        var etag: String
        var bytes: [UInt8]
        var content: JSONValue
    }

    private let state: Mutex<Published>

    init() {
        state = Mutex(Self.make(version: 0, parent: nil, modelVersion: nil, content: PolicyDocument.empty, at: 0))
    }

    var current: Published { state.withLock { $0 } }

    /// Publishes `content` as a new version unless it equals the current one; returns the version in force.
    @discardableResult
    func publish(_ content: JSONValue, modelVersion: Int?, at time: Double) -> Int {
        state.withLock { published in
            guard content != published.content || modelVersion != published.modelVersion else { return published.version }
            published = Self.make(version: published.version + 1, parent: published.version, modelVersion: modelVersion, content: content, at: time)
            return published.version
        }
    }

    private static func make(version: Int, parent: Int?, modelVersion: Int?, content: JSONValue, at time: Double) -> Published {
        var document: [(key: String, value: JSONValue)] = [
            ("version", .int(Int64(version))), ("parent", parent.map { .int(Int64($0)) } ?? .null),
            ("model_version", modelVersion.map { .int(Int64($0)) } ?? .null), ("generated_at", .double(time)),
        ]
        if case .object(let members) = content { document += members }
        return Published(
            version: version, parent: parent, modelVersion: modelVersion, etag: "\"policy-\(version)\"", bytes: JSONValue.object(document).jsonBytes,
            content: content
        )
    }
}
