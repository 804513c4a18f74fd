import Foundation
import Learning
import Logging
import Prometheus
import Synchronization
import SwitchboardCore

/// Runs at most one ``Experiment`` at a time: attributes learned calls to its arms, applies the
/// guardrail after every attributed call (so a worse candidate is reverted within
/// ``Guardrail/minEvents`` calls per arm once it is significantly worse, and every experiment is
/// decided by ``Guardrail/promoteAfter``), and keeps the last concluded experiments.
final class ExperimentRunner: Sendable {
    static let historyLimit = 20

    private struct State {
        var running: Experiment?
        var history: [Experiment] = []
        var sequence = 0
    }

    private let state = Mutex(State())
    private let metrics: LearnMetrics
    private let logger: Logger

    init(metrics: LearnMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    var running: Experiment? { state.withLock { $0.running } }

    /// The running experiment first, then concluded ones, newest first.
    var all: [Experiment] { state.withLock { state in (state.running.map { [$0] } ?? []) + state.history.reversed() } }

    /// The next experiment id (`exp-<n>`).
    func nextID() -> String {
        state.withLock { state in
            state.sequence += 1
            return "exp-\(state.sequence)"
        }
    }

    /// Starts `experiment`; a conflict while another one runs.
    func start(_ experiment: Experiment) throws {
        try state.withLock { state in
            if let running = state.running {
                throw ServiceError(.conflict, "experiment \(running.id) is running; stop or promote it first")
            }
            state.running = experiment
        }
        metrics.experimentRunning.set(Int64(1))
        logger.notice(
            "experiment started",
            metadata: [
                "experiment": .string(experiment.id), "mode": .string(experiment.mode.rawValue), "share": .stringConvertible(experiment.share),
                "candidate": .string("\(experiment.source)"),
            ]
        )
    }

    /// The policy member for the gateway while a canary runs.
    var policyMember: JSONValue? {
        state.withLock { state in
            guard let running = state.running, running.mode == .canary else { return nil }
            return running.policyMember
        }
    }

    /// Attributes `events` to the running experiment and applies its guardrail; returns the experiment
    /// when the guardrail concluded it (reverted, or promoted with auto-promotion).
    func observe(_ events: [Observation], controlWeights: @autoclosure () -> [String: Double]) -> Experiment? {
        guard state.withLock({ $0.running != nil }) else { return nil }
        let weights = controlWeights()
        let (concluded, counts) = state.withLock { state -> (Experiment?, (control: Int, candidate: Int)) in
            guard var experiment = state.running else { return (nil, (0, 0)) }
            experiment.controlWeights = weights
            var counts = (control: 0, candidate: 0)
            var verdict = Guardrail.Verdict.collecting
            for observation in events where experiment.observe(observation.event) {
                if observation.event.arm?.candidate == true { counts.candidate += 1 } else { counts.control += 1 }
                guard let arms = experiment.estimates else { continue }
                verdict = experiment.guardrail.verdict(control: arms.control, candidate: arms.candidate)
                if case .revert = verdict { break }
                if case .promote = verdict, experiment.autoPromote { break }
            }
            state.running = experiment
            switch verdict {
            case .revert(let reason):
                return (Self.conclude(&state, .reverted, reason: reason, at: Date().timeIntervalSince1970), counts)
            case .promote(let reason) where experiment.autoPromote:
                return (Self.conclude(&state, .promoted, reason: reason, at: Date().timeIntervalSince1970), counts)
            default:
                return (nil, counts)
            }
        }
        if counts.control > 0 { metrics.experimentEvents(arm: "control", counts.control) }
        if counts.candidate > 0 { metrics.experimentEvents(arm: "candidate", counts.candidate) }
        if let arms = state.withLock({ $0.running?.estimates }) ?? concluded?.estimates { metrics.experimentArms(arms.control, arms.candidate) }
        if let concluded { report(concluded) }
        return concluded
    }

    /// Ends the running experiment `id` by hand (`stopped`, or `promoted`); the experiment as concluded.
    func conclude(_ id: String, _ status: Experiment.Status, reason: String, at time: Double) throws -> Experiment {
        let concluded = try state.withLock { state -> Experiment in
            guard let running = state.running, running.id == id else {
                let known = (state.running.map { [$0] } ?? []) + state.history
                if let ended = known.first(where: { $0.id == id }) {
                    throw ServiceError(.conflict, "experiment \(id) already ended (\(ended.status.rawValue))")
                }
                throw ServiceError(.notFound, "no experiment \(id)")
            }
            return Self.conclude(&state, status, reason: reason, at: time)
        }
        report(concluded)
        return concluded
    }

    private static func conclude(_ state: inout State, _ status: Experiment.Status, reason: String, at time: Double) -> Experiment {
        var experiment = state.running!
        experiment.status = status
        experiment.reason = reason
        experiment.endedAt = time
        state.running = nil
        state.history.append(experiment)
        if state.history.count > historyLimit { state.history.removeFirst() }
        return experiment
    }

    private func report(_ experiment: Experiment) {
        metrics.experimentRunning.set(Int64(0))
        metrics.experimentConcluded(experiment.status.rawValue)
        let metadata: Logger.Metadata = [
            "experiment": .string(experiment.id), "mode": .string(experiment.mode.rawValue), "reason": .string(experiment.reason ?? ""),
        ]
        if experiment.status == .reverted {
            logger.warning("experiment reverted", metadata: metadata)
        } else {
            logger.notice("experiment \(experiment.status.rawValue)", metadata: metadata)
        }
    }
}
