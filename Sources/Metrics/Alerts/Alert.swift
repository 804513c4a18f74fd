import Foundation
import SwitchboardCore

/// One alert instance: a rule and the label set of one result sample.
struct Alert: Sendable {
    enum State: String, Sendable {
        case pending, firing, resolved
    }

    let rule: String
    let labels: [(String, String)]
    var annotations: [(String, String)]
    var state: State
    var value: Double
    /// When the expression first returned this label set.
    let activeSince: Double
    var firedAt: Double?
    var resolvedAt: Double?

    var fingerprint: String {
        String(Digest.hex(Digest.sha256(Array((rule + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")).utf8))).prefix(16))
    }

    var json: JSONValue {
        [
            "alertname": .string(rule),
            "state": .string(state.rawValue),
            "value": .double(value),
            "labels": .object(labels.map { ($0.0, .string($0.1)) }),
            "annotations": .object(annotations.map { ($0.0, .string($0.1)) }),
            "active_since": .double(activeSince),
        ]
    }
}
