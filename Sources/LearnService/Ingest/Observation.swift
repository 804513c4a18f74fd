import Learning
import SwitchboardCore

/// One call event as the learner sees it: the telemetry contract with its optional cache fields
/// (``CallEvent/cacheKey``, ``CallEvent/resultHash``: opaque strings; the result hash is hashed here).
struct Observation: Sendable, Equatable {
    var event: CallEvent
    var cacheKey: String? { event.cacheKey }
    var resultHash: UInt64?

    init(event: CallEvent) {
        self.event = event
        self.resultHash = event.resultHash.map(StableHash.fnv1a)
    }
}
