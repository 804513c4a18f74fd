import Testing

@testable import Learning

struct CallPatternMinerTests {
    @Test func spaceSavingKeepsTheHeavyHitters() {
        var table = SpaceSaving<Int>(capacity: 4)
        for round in 0..<100 {
            table.add(1)
            if round % 2 == 0 { table.add(2) }
            table.add(100 + round)
        }
        let top = table.top(2).map(\.item)
        #expect(top == [1, 2])
        #expect(table.count(of: 1) >= 100)
        #expect(table.total == 250)
        table.decay()
        #expect(table.total == 125)
    }

    @Test func predictorUsesTheLongerContextWhenItHasSupport() {
        var predictor = NextCallPredictor()
        for _ in 0..<10 {
            predictor.observe(history: ["a", "b"], next: "c")
            predictor.observe(history: ["x", "b"], next: "y")
        }
        #expect(predictor.predict(history: ["a", "b"], limit: 1).first?.call == "c")
        #expect(predictor.predict(history: ["x", "b"], limit: 1).first?.call == "y")
        let order1 = predictor.predict(history: ["b"], limit: 2)
        #expect(Set(order1.map(\.call)) == ["c", "y"])
        #expect(abs(order1[0].probability - 0.5) < 1e-9)
    }

    @Test func predictorForgetsTheLeastRecentlyUsedContexts() throws {
        var configuration = NextCallPredictor.Configuration()
        configuration.contexts = 20
        var predictor = NextCallPredictor(configuration: configuration)
        // "a" → "b" is used throughout; 200 one-off contexts pass by.
        for step in 0..<200 {
            predictor.observe(after: "a", next: "b")
            predictor.observe(after: "once_\(step)", next: "c")
            #expect(predictor.contextCount <= 20)
        }
        #expect(predictor.predict(history: ["a"], limit: 1).first?.call == "b")
        #expect(predictor.predict(history: ["once_199"], limit: 1).first?.call != nil)
        // An early one-off context was forgotten: its history falls back to popularity.
        #expect(predictor.strongTransitions(minimumProbability: 0.5, minimumSupport: 1, limit: 100).contains { $0.0 == "once_0" } == false)
        var writer = BinaryWriter()
        predictor.encode(into: &writer)
        var reader = BinaryReader(writer.bytes)
        let restored = try NextCallPredictor(from: &reader)
        #expect(restored.contextCount == predictor.contextCount)
        #expect(restored.predict(history: ["a"], limit: 2) == predictor.predict(history: ["a"], limit: 2))
    }

    @Test func clustererHashesNGramsAsTheJoinedNames() {
        let calls = ["read_file", "edit_file", "git_diff"]
        let clusterer = SessionClusterer()
        var expected = Array(repeating: 0.0, count: clusterer.configuration.dimensions)
        for n in 1...3 {
            for start in 0...(calls.count - n) {
                let gram = calls[start..<(start + n)].joined(separator: "\u{1F}")
                expected[Int(StableHash.fnv1a(gram) % UInt64(expected.count))] += 1
            }
        }
        let norm = expected.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(clusterer.vector(calls) == expected.map { $0 / norm })
    }

    @Test func clustererSeparatesDifferentWorkflows() {
        var clusterer = SessionClusterer()
        let edit = ["read_file", "edit_file", "write_file", "git_diff"]
        let ops = ["docker_ps", "ssh_exec", "run_command"]
        var editClusters = Set<Int>()
        var opsClusters = Set<Int>()
        for _ in 0..<20 {
            editClusters.insert(clusterer.observe(edit)!)
            opsClusters.insert(clusterer.observe(ops)!)
        }
        #expect(editClusters.count == 1)
        #expect(opsClusters.count == 1)
        #expect(editClusters != opsClusters)
    }

    @Test func minerLearnsARecurringWorkflowAndMeasuresItsAccuracy() throws {
        var miner = CallPatternMiner()
        let workflow = ["list_directory", "read_file", "edit_file", "write_file"]
        var time = 0.0
        for _ in 0..<50 {
            for (index, tool) in workflow.enumerated() {
                miner.observe(principal: "alice", tool: tool, key: "k\(index)", at: time)
                time += 1
            }
            time += 1000
        }
        #expect(miner.predict(principal: "alice", recent: ["list_directory", "read_file"], limit: 1).first?.call == "edit_file")
        #expect(try #require(miner.accuracy) > 0.9)
        let top = miner.overall.top(1).first?.item ?? []
        #expect(workflow.joined(separator: " ").contains(top.joined(separator: " ")))
        let transitions = miner.warmingTransitions()
        #expect(transitions.contains { $0.afterTool == "list_directory" && $0.nextTool == "read_file" && $0.nextKey == "k1" })
        var writer = BinaryWriter()
        miner.encode(into: &writer)
        var reader = BinaryReader(writer.bytes)
        let restored = try CallPatternMiner(from: &reader)
        #expect(restored.accuracy == miner.accuracy)
        #expect(reader.isAtEnd)
    }

    @Test func minerKeepsAtMostItsPrincipalsAndTheirSessions() throws {
        var configuration = CallPatternMiner.Configuration()
        configuration.principals = 8
        var miner = CallPatternMiner(configuration: configuration)
        for step in 0..<200 {
            miner.observe(principal: "p\(step % 20)", tool: "read_file", at: Double(step))
            // A known principal keeps its session (and does not evict anyone) while the table is full.
            miner.observe(principal: "p\(step % 20)", tool: "edit_file", at: Double(step) + 0.5)
        }
        #expect(miner.principalCount == 8)
        // Every edit_file followed its principal's read_file in the kept session, so it was predicted.
        #expect(try #require(miner.accuracy) > 0.9)
        #expect(miner.predict(principal: "p19", recent: ["read_file"], limit: 1).first?.call == "edit_file")
    }
}
