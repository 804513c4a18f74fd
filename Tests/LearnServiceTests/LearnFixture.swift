import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport

@testable import LearnService

/// A learner and its router, configured for tests (short probation, optional checkpoint directory).
struct LearnFixture {
    static let auth: HTTPFields = [.authorization: "Bearer \(TestEnvironment.secret)"]

    let environment: ServiceEnvironment
    let learner: Learner

    init(queue: Int = 65536, stateDirectory: URL? = nil, postgresURL: String = "") async throws {
        environment = try TestEnvironment.make(
            service: "learn", keys: ConfigKey.learnService,
            [
                "SWITCHBOARD_LEARN_QUEUE": String(queue), "SWITCHBOARD_LEARN_PROBATION": "64",
                "SWITCHBOARD_LEARN_STATE_DIR": stateDirectory?.path ?? "", "SWITCHBOARD_LEARN_POSTGRES_URL": postgresURL,
            ]
        )
        learner = try await makeLearner(environment)
    }

    var application: some ApplicationProtocol { Application(router: buildRouter(environment, learner: learner)) }

    /// One event in wire form.
    static func event(
        _ tool: String, at time: Double = 1_732_180_000, principal: String = "p", backend: String = "b", latency: Double = 2, outcome: String = "ok",
        cacheKey: String? = nil, result: String? = nil, arm: (experiment: String, candidate: Bool)? = nil
    ) -> String {
        var text = #"{"ts":\#(time),"tool":"\#(tool)","principal":"\#(principal)","backend":"\#(backend)","latency_ms":\#(latency),"outcome":"\#(outcome)","cache_hit":false,"arg_shape":["path:string"]"#
        if let cacheKey { text += #","cache_key":"\#(cacheKey)""# }
        if let result { text += #","result_hash":"\#(result)""# }
        if let arm { text += #","experiment":"\#(arm.experiment)","arm":"\#(arm.candidate ? "candidate" : "control")""# }
        return text + "}"
    }

    static func batch(_ events: [String]) -> ByteBuffer {
        ByteBuffer(string: #"{"events":[\#(events.joined(separator: ","))]}"#)
    }
}
