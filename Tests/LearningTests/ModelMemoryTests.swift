import Testing

@testable import Learning

/// Each model stays within 2 MiB by design whatever it is fed, and reports what it holds honestly.
struct ModelMemoryTests {
    static let limit = 2 << 20

    @Test func cacheModelStaysBoundedOverManyToolsAndKeys() {
        let configuration = CacheModel.Configuration()
        let bound = CacheModel.bytes(configuration: configuration, nameBytes: 15)
        #expect(bound <= Self.limit)
        var model = CacheModel(configuration: configuration)
        var random = SplitMix64(seed: 3)
        // 4× the tools and 6× the keys it keeps; every tool sees repeated keys, so every change window fills.
        for step in 0..<100_000 {
            let tool = "tool_\(step % (4 * configuration.tools))"
            let key = step % 3 == 0 ? UInt64(step % 7) : random.next()
            model.observe(tool: tool, key: key, result: random.next() % 2, cacheHit: false, at: Double(step))
        }
        for step in 0..<(configuration.tools * 1_200) {
            model.observe(tool: "tool_\(step % configuration.tools)", key: UInt64(step % 3), result: random.next() % 2, cacheHit: false, at: 1e6 + Double(step))
        }
        #expect(model.toolNames.count == configuration.tools)
        #expect(model.remembered.count == configuration.keys)
        let reported = model.memoryBytes
        #expect(reported <= bound)
        // Honest: saturated, it reports most of its capacity-derived size (arrays and tables are full).
        #expect(Double(reported) >= 0.5 * Double(bound))
        #expect(reported >= configuration.keys * MemoryLayout<CacheModel.Execution>.stride)
    }

    @Test func callPatternMinerStaysBoundedOverManyPrincipalsToolsAndKeys() {
        let configuration = CallPatternMiner.Configuration()
        let bound = CallPatternMiner.bytes(configuration: configuration, nameBytes: 15)
        #expect(bound <= Self.limit)
        var miner = CallPatternMiner(configuration: configuration)
        var random = SplitMix64(seed: 5)
        // 8× the principals, 300 tools (90,000 order-2 contexts for 2,048 kept), 200,000 keys; long sessions.
        for step in 0..<120_000 {
            let principal = "principal_\(step % (8 * configuration.principals))"
            miner.observe(principal: principal, tool: "tool_\(random.next() % 300)", key: "k\(random.next() % 200_000)", at: Double(step) * 0.001)
        }
        // Then few principals with sessions longer than a piece.
        for step in 0..<30_000 {
            miner.observe(principal: "p\(step % 900)", tool: "t\(random.next() % 300)", key: "k\(random.next() % 1000)", at: 200 + Double(step) * 0.001)
        }
        // Full, less the idlest tenth forgotten at once when it overflowed.
        #expect(miner.principalCount <= configuration.principals)
        #expect(miner.principalCount >= configuration.principals * 9 / 10)
        let reported = miner.memoryBytes
        #expect(reported <= bound)
        #expect(Double(reported) >= 0.4 * Double(bound))
    }

    @Test func memoryFootprintCountsHeapStringsAndTables() {
        #expect(MemoryFootprint.heap("fifteen_bytes__") == 0)
        #expect(MemoryFootprint.heap(String(repeating: "x", count: 40)) >= 40)
        var table: [UInt64: Int32] = [:]
        for key in 0..<1000 { table[UInt64(key)] = 0 }
        // At least the keys and values themselves, at most a table twice as large as needed.
        #expect(MemoryFootprint.dictionary(table) >= 1000 * 12)
        #expect(MemoryFootprint.dictionary(table) <= 2 * 2048 * 12 + 1024)
    }
}
