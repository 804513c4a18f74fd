import Learning
import Testing

/// The experiment guardrail: when a candidate is reverted, when it is promoted, and the shadow estimate.
struct GuardrailTests {
    /// `count` calls with latencies alternating around `latency` (±10 %) and every `errorEvery`-th failing.
    static func arm(_ count: Int, latency: Double, errorEvery: Int = 0) -> ArmStatistics {
        var statistics = ArmStatistics()
        for index in 0..<count {
            statistics.observe(latency: latency * (index % 2 == 0 ? 0.9 : 1.1), failed: errorEvery > 0 && index % errorEvery == 0)
        }
        return statistics
    }

    @Test func statisticsAreTheMeanVarianceAndErrorRate() {
        var statistics = ArmStatistics()
        for (latency, failed) in [(1.0, false), (2.0, true), (3.0, false), (4.0, false)] { statistics.observe(latency: latency, failed: failed) }
        #expect(statistics.events == 4)
        #expect(statistics.latencyMean == 2.5)
        #expect(abs(statistics.latencyVariance - 5.0 / 3.0) < 1e-12)
        #expect(statistics.errorRate == 0.25)
    }

    @Test func nothingIsDecidedBeforeEachArmHasMinEvents() {
        let guardrail = Guardrail(minEvents: 100, promoteAfter: 500)
        #expect(guardrail.verdict(control: Self.arm(1000, latency: 10).estimate, candidate: Self.arm(99, latency: 100).estimate) == .collecting)
    }

    @Test func aSlowerCandidateIsRevertedAtMinEvents() {
        let guardrail = Guardrail(maxLatencyIncrease: 0.2, minEvents: 100, promoteAfter: 500)
        let verdict = guardrail.verdict(control: Self.arm(100, latency: 10).estimate, candidate: Self.arm(100, latency: 15).estimate)
        guard case .revert(let reason) = verdict else {
            Issue.record("expected a revert, got \(verdict)")
            return
        }
        #expect(reason.hasPrefix("candidate mean latency 15 vs control 10 (limit +20.0%)"))
    }

    @Test func aCandidateWithMoreErrorsIsReverted() {
        let guardrail = Guardrail(maxErrorIncrease: 0.02, minEvents: 200, promoteAfter: 1000)
        let verdict = guardrail.verdict(control: Self.arm(200, latency: 10, errorEvery: 100).estimate, candidate: Self.arm(200, latency: 10, errorEvery: 4).estimate)
        guard case .revert(let reason) = verdict else {
            Issue.record("expected a revert, got \(verdict)")
            return
        }
        #expect(reason.hasPrefix("candidate error rate 25.0% vs control 1.0%"))
    }

    /// Within the thresholds the candidate is held, then promoted once both arms have `promoteAfter` calls.
    @Test func aCandidateThatIsNotWorseIsPromoted() {
        let guardrail = Guardrail(maxLatencyIncrease: 0.2, minEvents: 100, promoteAfter: 500)
        #expect(guardrail.verdict(control: Self.arm(300, latency: 10).estimate, candidate: Self.arm(300, latency: 11).estimate) == .holding)
        let verdict = guardrail.verdict(control: Self.arm(500, latency: 10).estimate, candidate: Self.arm(500, latency: 11).estimate)
        guard case .promote = verdict else {
            Issue.record("expected a promotion, got \(verdict)")
            return
        }
    }

    /// A slightly worse candidate that never becomes significant is reverted at `promoteAfter`: every
    /// experiment is decided by then.
    @Test func aCandidateStillWorseAtPromoteAfterIsReverted() {
        let guardrail = Guardrail(maxLatencyIncrease: 0.0, minEvents: 100, promoteAfter: 200, confidence: 1000)
        let verdict = guardrail.verdict(control: Self.arm(200, latency: 10).estimate, candidate: Self.arm(200, latency: 10.5).estimate)
        guard case .revert(let reason) = verdict else {
            Issue.record("expected a revert, got \(verdict)")
            return
        }
        #expect(reason.hasSuffix("after 200 calls per arm"))
    }

    /// The shadow estimate mixes each replica's figures by the weights; replicas without calls are left out.
    @Test func reweightingMixesTheReplicasByWeight() throws {
        let replicas = ["a": Self.arm(100, latency: 10), "b": Self.arm(100, latency: 30, errorEvery: 2)]
        let even = try #require(ArmEstimate.reweighted(replicas, weights: ["a": 1, "b": 1]))
        #expect(abs(even.latencyMean - 20) < 1e-9)
        #expect(abs(even.errorRate - 0.25) < 1e-9)
        #expect(even.events == 200)
        let onA = try #require(ArmEstimate.reweighted(replicas, weights: ["a": 3, "b": 0, "c": 5]))
        #expect(abs(onA.latencyMean - 10) < 1e-9)
        #expect(onA.errorRate == 0)
        #expect(ArmEstimate.reweighted(replicas, weights: ["c": 1]) == nil)
    }

    @Test func problemsNameTheField() {
        #expect(Guardrail(minEvents: 0).problem == "min_events must be an integer ≥ 1")
        #expect(Guardrail(minEvents: 100, promoteAfter: 50).problem == "promote_after must be an integer ≥ min_events (100)")
        #expect(Guardrail(maxErrorIncrease: 2).problem == "max_error_increase must be a number in 0...1")
        #expect(Guardrail().problem == nil)
    }
}
