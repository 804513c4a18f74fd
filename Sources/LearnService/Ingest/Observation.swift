import Learning
import SwitchboardCore

/// One call event as the learner sees it: the telemetry contract plus the optional cache fields the
/// gateway adds for cacheable calls (`cache_key`, `result_hash`: opaque strings, hashed here).
struct Observation: Sendable, Equatable {
    var event: CallEvent
    var cacheKey: String?
    var resultHash: UInt64?

    init(event: CallEvent, cacheKey: String? = nil, resultHash: String? = nil) {
        self.event = event
        self.cacheKey = cacheKey
        self.resultHash = resultHash.map(StableHash.fnv1a)
    }
}
