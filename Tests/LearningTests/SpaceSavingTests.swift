import Testing

@testable import Learning

/// The Stream-Summary ``SpaceSaving`` against an exact counter on small random streams.
struct SpaceSavingTests {
    /// Skewed streams over `distinct` items (item i drawn with weight ∝ 1/(i+1)).
    static func stream(length: Int, distinct: Int, seed: UInt64) -> [Int] {
        var random = SplitMix64(seed: seed)
        let weights = (0..<distinct).map { 1 / Double($0 + 1) }
        let sum = weights.reduce(0, +)
        return (0..<length).map { _ in
            var u = random.nextDouble() * sum
            for (item, weight) in weights.enumerated() {
                u -= weight
                if u <= 0 { return item }
            }
            return distinct - 1
        }
    }

    @Test(arguments: [(4, 50), (8, 30), (16, 200), (1, 10), (32, 20)])
    func keepsTheSpaceSavingGuarantees(capacity: Int, distinct: Int) {
        for seed in UInt64(1)...20 {
            let items = Self.stream(length: 500 + Int(seed) * 37, distinct: distinct, seed: seed)
            var table = SpaceSaving<Int>(capacity: capacity)
            var exact: [Int: Double] = [:]
            for item in items {
                table.add(item)
                exact[item, default: 0] += 1
            }
            let total = Double(items.count)
            #expect(table.total == total)
            let entries = table.entries
            #expect(entries.count == min(capacity, exact.count))
            #expect(Set(entries.map(\.item)).count == entries.count)
            // Each counter over-estimates its item by at most its recorded error, which is at most N/k.
            for entry in entries {
                let truth = exact[entry.item] ?? 0
                #expect(entry.count >= truth)
                #expect(entry.count - entry.error <= truth)
                #expect(entry.error <= total / Double(capacity))
                #expect(table.count(of: entry.item) == entry.count)
            }
            // Every item more frequent than N/k is kept; the counters sum to N once the table is full.
            for (item, truth) in exact where truth > total / Double(capacity) {
                #expect(table.count(of: item) >= truth)
            }
            if exact.count >= capacity { #expect(entries.reduce(0) { $0 + $1.count } == total) }
            // Largest first, ties by smaller error.
            #expect(zip(entries, entries.dropFirst()).allSatisfy { ($0.count, -$0.error) >= ($1.count, -$1.error) })
            #expect(table.top(3).map(\.count) == Array(entries.prefix(3).map(\.count)))
        }
    }

    @Test func countsExactlyWhileEveryItemFits() {
        let items = Self.stream(length: 2_000, distinct: 12, seed: 9)
        var table = SpaceSaving<Int>(capacity: 12)
        var exact: [Int: Double] = [:]
        for item in items {
            table.add(item)
            exact[item, default: 0] += 1
        }
        for (item, truth) in exact { #expect(table.count(of: item) == truth) }
        #expect(table.entries.allSatisfy { $0.error == 0 })
        let sorted = exact.sorted { $0.value > $1.value }
        #expect(table.top(1).first?.count == sorted.first?.value)
    }

    @Test func decayHalvesEveryCounterRoundingDown() {
        let items = Self.stream(length: 3_000, distinct: 40, seed: 5)
        var table = SpaceSaving<Int>(capacity: 8)
        var exact: [Int: Double] = [:]
        var decays = 0
        for (index, item) in items.enumerated() {
            table.add(item)
            exact[item, default: 0] += 1
            if index % 700 == 699 {
                let before = table.entries
                let total = table.total
                table.decay()
                decays += 1
                for (key, value) in exact { exact[key] = value / 2 }
                #expect(table.total == total / 2)
                for entry in before {
                    #expect(table.count(of: entry.item) == (entry.count / 2).rounded(.down))
                }
                // Counters that reached zero are kept (and replaced first) but not listed.
                #expect(table.entries.allSatisfy { $0.count > 0 && $0.error <= $0.count })
                #expect(Set(table.entries.map(\.item)).isSubset(of: Set(before.map(\.item))))
            }
        }
        #expect(decays == 4)
        for entry in table.entries {
            let truth = exact[entry.item] ?? 0
            // Rounding down loses less than one in all; the error bound still holds.
            #expect(entry.count > truth - 1)
            #expect(entry.count - entry.error <= truth)
        }
        #expect(table.entries.reduce(0) { $0 + $1.count } <= table.total)
    }

    @Test func replacesTheSmallestAndRestoresItsCounters() {
        var table = SpaceSaving<String>(capacity: 3)
        for _ in 0..<3 { table.add("a") }
        table.add("b")
        for _ in 0..<4 { table.add("c") }
        table.add("d")  // replaces b (1): 2 with error 1
        #expect(table.count(of: "b") == 0)
        #expect(table.count(of: "d") == 2)
        #expect(table.top(3).map(\.item) == ["c", "a", "d"])
        #expect(table.top(3).map(\.error) == [0, 0, 1])
        let restored = SpaceSaving<String>(capacity: 3, entries: table.entries, total: table.total)
        #expect(restored.entries.map(\.item) == table.entries.map(\.item))
        #expect(restored.entries.map(\.error) == table.entries.map(\.error))
        #expect(restored.total == 9)
        var next = restored
        next.add("e")  // replaces d, the smallest: 3 with error 2, tied with a and listed after it
        #expect(next.count(of: "e") == 3)
        #expect(next.top(3).map(\.item) == ["c", "a", "e"])
    }
}
