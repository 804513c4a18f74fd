/// A discrete-event simulation of the gateway routing over tool-service replicas, to evaluate routing
/// policies: Poisson arrivals; each replica a FIFO single-server queue with exponential service times
/// (latency grows with load as `1/(μ − λ)`); service rates that change at given times. The learned
/// policy sees only completed calls, as telemetry, and publishes new weights every `publishInterval`.
public enum RoutingSimulation {
    /// A change of one replica's service rate.
    public struct Change: Sendable {
        public let time: Double
        public let replica: Int
        public let rate: Double
        public init(time: Double, replica: Int, rate: Double) {
            self.time = time
            self.replica = replica
            self.rate = rate
        }
    }

    public struct Scenario: Sendable {
        public let name: String
        public let rates: [Double]
        public let arrivalRate: Double
        public let duration: Double
        public let changes: [Change]
        public var publishInterval = 1.0
        public var seed: UInt64 = 1

        public init(name: String, rates: [Double], arrivalRate: Double, duration: Double, changes: [Change]) {
            self.name = name
            self.rates = rates
            self.arrivalRate = arrivalRate
            self.duration = duration
            self.changes = changes.sorted { $0.time < $1.time }
        }

        /// Service rates in force at `time`.
        public func rates(at time: Double) -> [Double] {
            var current = rates
            for change in changes where change.time <= time { current[change.replica] = change.rate }
            return current
        }
    }

    public enum Policy: String, CaseIterable, Sendable {
        case roundRobin = "round robin"
        /// Power of two choices on in-flight calls, equal weights.
        case powerOfTwo = "P2C (in-flight)"
        /// The learn service's weights with weighted P2C, as the gateway combines them.
        case learned = "learned weights + P2C"
        /// The optimal static split for the true rates at every instant (the best allocation).
        case oracle = "best static allocation (oracle)"
        /// The optimal split for the true rates as weights, with weighted P2C (the best this gateway can do).
        case oracleWithPowerOfTwo = "oracle weights + P2C"
    }

    public struct Result: Sendable {
        public let policy: Policy
        public let requests: Int
        public let meanLatency: Double
        public let p99Latency: Double
        /// Per change of rate that slowed a replica: requests after the change until that replica's share
        /// of a sliding 100-request window fell under 10 % (nil: never).
        public let requestsUntilShiftedAway: [Int?]
        /// Highest utilisation of any replica over any phase between changes.
        public let maxUtilisation: Double
    }

    public static func run(_ scenario: Scenario, policy: Policy) -> Result {
        var random = SplitMix64(seed: scenario.seed)
        let count = scenario.rates.count
        var busyUntil = Array(repeating: 0.0, count: count)
        var inFlight = Array(repeating: [Double](), count: count)  // completion times, FIFO so ascending
        var completions: [(time: Double, replica: Int, latency: Double)] = []
        var completionCursor = 0
        var model = RoutingModel()
        var weights = Array(repeating: 1.0 / Double(count), count: count)
        var nextPublish = scenario.publishInterval
        var latencies: [Double] = []
        var assignments: [Int] = []
        var arrivalTimes: [Double] = []
        var cursor = 0
        var time = 0.0
        let boundaries = [0.0] + scenario.changes.map(\.time) + [scenario.duration]
        var busy = Array(repeating: Array(repeating: 0.0, count: count), count: boundaries.count - 1)

        while true {
            time += random.exponential(rate: scenario.arrivalRate)
            guard time < scenario.duration else { break }
            let rates = scenario.rates(at: time)
            for index in 0..<count {
                while let first = inFlight[index].first, first <= time { inFlight[index].removeFirst() }
            }
            if policy == .learned {
                // Telemetry arrives as calls complete; weights are published periodically.
                while nextPublish <= time {
                    completions.sort { $0.time < $1.time }
                    while completionCursor < completions.count, completions[completionCursor].time <= nextPublish {
                        let done = completions[completionCursor]
                        model.observe(replica: String(done.replica), latency: done.latency, failed: false, at: done.time)
                        completionCursor += 1
                    }
                    completions.removeFirst(completionCursor)
                    completionCursor = 0
                    let learned = model.weights(at: nextPublish)
                    if learned.count == count { weights = (0..<count).map { learned[String($0)]! } }
                    nextPublish += scenario.publishInterval
                }
            }
            let replica: Int
            switch policy {
            case .roundRobin:
                replica = cursor % count
                cursor += 1
            case .powerOfTwo:
                replica = WeightedPowerOfTwo.choose(weights: Array(repeating: 1, count: count), inFlight: inFlight.map(\.count), using: &random)!
            case .learned:
                replica = WeightedPowerOfTwo.choose(weights: weights, inFlight: inFlight.map(\.count), using: &random)!
            case .oracleWithPowerOfTwo:
                let shares = RoutingAllocator.optimalShares(rates: rates, load: scenario.arrivalRate)
                replica = WeightedPowerOfTwo.choose(weights: shares, inFlight: inFlight.map(\.count), using: &random)!
            case .oracle:
                let shares = RoutingAllocator.optimalShares(rates: rates, load: scenario.arrivalRate)
                var target = random.nextDouble()
                var chosen = count - 1
                for (index, share) in shares.enumerated() {
                    target -= share
                    if target < 0 {
                        chosen = index
                        break
                    }
                }
                replica = chosen
            }
            let start = max(time, busyUntil[replica])
            let service = random.exponential(rate: scenario.rates(at: start)[replica])
            let finish = start + service
            busyUntil[replica] = finish
            inFlight[replica].append(finish)
            latencies.append(finish - time)
            assignments.append(replica)
            arrivalTimes.append(time)
            if policy == .learned { completions.append((finish, replica, finish - time)) }
            // Busy time, attributed to the phase in which the service started.
            let phase = (boundaries.lastIndex { $0 <= start } ?? 0).clamped(to: 0...(busy.count - 1))
            busy[phase][replica] += service
        }

        var maxUtilisation = 0.0
        for phase in busy.indices {
            let length = boundaries[phase + 1] - boundaries[phase]
            for value in busy[phase] { maxUtilisation = max(maxUtilisation, value / length) }
        }
        var shifted: [Int?] = []
        for change in scenario.changes where change.rate < scenario.rates(at: change.time - 1e-9)[change.replica] {
            guard let first = arrivalTimes.firstIndex(where: { $0 >= change.time }) else {
                shifted.append(nil)
                continue
            }
            var found: Int?
            var inWindow = 0
            for index in first..<assignments.count {
                if assignments[index] == change.replica { inWindow += 1 }
                if index - first >= 100, assignments[index - 100] == change.replica { inWindow -= 1 }
                if index - first >= 99, Double(inWindow) / 100 < 0.1 {
                    found = index - first + 1
                    break
                }
            }
            shifted.append(found)
        }
        let sorted = latencies.sorted()
        return Result(
            policy: policy, requests: latencies.count, meanLatency: latencies.reduce(0, +) / Double(latencies.count),
            p99Latency: sorted[Int(Double(sorted.count - 1) * 0.99)], requestsUntilShiftedAway: shifted, maxUtilisation: maxUtilisation
        )
    }

    /// The scenarios `make eval` reports.
    public static let scenarios: [Scenario] = [
        Scenario(name: "4 equal replicas (100/s each) at 70 % load, no change", rates: [100, 100, 100, 100], arrivalRate: 280, duration: 120, changes: []),
        Scenario(name: "4 unequal replicas (150/100/80/50 per s) at 50 % load, no change", rates: [150, 100, 80, 50], arrivalRate: 190, duration: 120, changes: []),
        Scenario(
            name: "4 equal replicas (100/s each) at 60 % load; replica 0 slows 5× at 60 s and recovers at 120 s, replica 3 speeds up 1.5× at 120 s",
            rates: [100, 100, 100, 100], arrivalRate: 240, duration: 180,
            changes: [Change(time: 60, replica: 0, rate: 20), Change(time: 120, replica: 0, rate: 100), Change(time: 120, replica: 3, rate: 150)]
        ),
        Scenario(
            name: "4 unequal replicas (150/100/80/50 per s) at 60 % load; replica 1 slows 5× at 40 s",
            rates: [150, 100, 80, 50], arrivalRate: 228, duration: 120, changes: [Change(time: 40, replica: 1, rate: 20)]
        ),
    ]
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
