/// The gateway's replica choice: draw two distinct replicas with probability proportional to their
/// learned weights, and send the call to the one with the lower `(in-flight + 1)/weight`. Equal weights
/// make it plain power-of-two-choices on in-flight calls; the in-flight term reacts within one call to
/// a replica that stalls, the weights carry what was learned about capacity.
public enum WeightedPowerOfTwo {
    /// The chosen index, or nil when there are no replicas.
    public static func choose(weights: [Double], inFlight: [Int], using random: inout some RandomNumberGenerator) -> Int? {
        let count = weights.count
        guard count > 0 else { return nil }
        guard count > 1 else { return 0 }
        let total = weights.reduce(0) { $0 + max(0, $1) }
        func draw(excluding skipped: Int?) -> Int {
            let remaining = total - (skipped.map { max(0, weights[$0]) } ?? 0)
            guard remaining > 0 else {
                var index = Int.random(in: 0..<count, using: &random)
                if index == skipped { index = (index + 1) % count }
                return index
            }
            var target = Double.random(in: 0..<remaining, using: &random)
            for index in 0..<count where index != skipped {
                target -= max(0, weights[index])
                if target < 0 { return index }
            }
            return (0..<count).last { $0 != skipped }!
        }
        let first = draw(excluding: nil)
        let second = draw(excluding: first)
        func cost(_ index: Int) -> Double { Double(inFlight[index] + 1) / max(weights[index], 1e-9) }
        return cost(second) < cost(first) ? second : first
    }
}
