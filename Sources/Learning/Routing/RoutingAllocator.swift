/// Turns estimated service rates into routing weights.
///
/// For parallel single-server queues with rates `μ_i` sharing a load `λ`, the split that minimises mean
/// latency is the square-root rule `λ_i = μ_i − √μ_i·(Σμ − λ)/Σ√μ_j` (replicas whose share would be
/// negative get none, and the rule is re-applied to the others). Failing replicas are penalised by their
/// success rate squared, and every replica keeps a `floor` share so that recovery is noticed.
public enum RoutingAllocator {
    /// The optimal shares of `load` (summing to 1), or shares ∝ μ when `load` exceeds the capacity.
    public static func optimalShares(rates: [Double], load: Double) -> [Double] {
        let total = rates.reduce(0, +)
        guard total > 0 else { return rates.map { _ in 1 / Double(max(1, rates.count)) } }
        guard load > 0, load < total else { return rates.map { $0 / total } }
        var active = Array(rates.indices).filter { rates[$0] > 0 }
        while true {
            let capacity = active.reduce(0.0) { $0 + rates[$1] }
            let roots = active.reduce(0.0) { $0 + rates[$1].squareRoot() }
            let spare = (capacity - load) / roots
            if let weakest = active.min(by: { rates[$0] < rates[$1] }), rates[weakest] - rates[weakest].squareRoot() * spare < 0, active.count > 1 {
                active.removeAll { $0 == weakest }
                continue
            }
            var shares = Array(repeating: 0.0, count: rates.count)
            for index in active { shares[index] = max(0, rates[index] - rates[index].squareRoot() * spare) / load }
            return shares
        }
    }

    /// Weights: optimal shares, penalised by `(1 − errorRate)²`, floored at `floor`, normalised to sum 1.
    public static func weights(rates: [Double], errorRates: [Double], load: Double, floor: Double) -> [Double] {
        guard !rates.isEmpty else { return [] }
        let shares = optimalShares(rates: rates, load: load)
        var weights = zip(shares, errorRates).map { share, errors in share * (1 - min(1, max(0, errors))) * (1 - min(1, max(0, errors))) }
        let sum = weights.reduce(0, +)
        if sum <= 0 { weights = rates.map { _ in 1 } }
        let normal = weights.reduce(0, +)
        let floored = weights.map { max(floor, $0 / normal) }
        let total = floored.reduce(0, +)
        return floored.map { $0 / total }
    }

    /// Mean latency of a split under the queueing model (∞ when a replica is overloaded).
    public static func meanLatency(rates: [Double], shares: [Double], load: Double) -> Double {
        var total = 0.0
        for (rate, share) in zip(rates, shares) where share > 0 {
            let arrivals = share * load
            guard arrivals < rate else { return .infinity }
            total += arrivals / (rate - arrivals)
        }
        return total / load
    }
}
