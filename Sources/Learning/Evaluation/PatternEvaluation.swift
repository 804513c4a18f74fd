/// Evaluates ``CallPatternMiner`` on synthetic sessions: `templates` call sequences (3–8 calls over a
/// vocabulary of tools), each session a template with 10 % of its positions perturbed (a call inserted,
/// dropped or replaced), principals interleaved; halfway the templates are replaced by new ones.
public enum PatternEvaluation {
    public struct Half: Sendable {
        /// Adjusted Rand index of the session clusters against the true templates.
        public let adjustedRandIndex: Double
        /// Prequential top-3 accuracy of next-call predictions.
        public let nextCallAccuracy: Double
        /// Share of the miner's 20 most frequent sequences that are bi- or tri-grams of the templates
        /// (rather than of the noise).
        public let topSequencePrecision: Double
    }

    public struct Result: Sendable {
        public let sessions: Int
        public let first: Half
        public let second: Half
        /// Sessions after the switch until a 500-session window's next-call accuracy is back within 0.05 of
        /// the first half's.
        public let sessionsToRecover: Int?
        public let memoryBytes: Int
    }

    static let vocabulary = [
        "read_file", "list_directory", "search_files", "write_file", "git_status", "git_diff", "git_log", "run_command", "http_get",
        "sql_query", "get_system_info", "edit_file", "move_file", "create_directory", "web_search", "slack_post", "jenkins_build",
        "docker_ps", "ssh_exec", "git_commit",
    ]

    public static func run(sessions: Int = 50_000, templates count: Int = 8, seed: UInt64 = 11) -> Result {
        var random = SplitMix64(seed: seed)
        func makeTemplates() -> [[String]] {
            (0..<count).map { _ in
                let length = 3 + Int(random.next() % 6)
                return (0..<length).map { _ in vocabulary[Int(random.next() % UInt64(vocabulary.count))] }
            }
        }
        var templateSets = [makeTemplates(), makeTemplates()]
        // Keep the second set distinct from the first.
        templateSets[1] = templateSets[1].map { $0.reversed() }
        var miner = CallPatternMiner()
        var time = 0.0
        var halves: [Half] = []
        var recover: Int?
        var firstAccuracy = 0.0
        for half in 0..<2 {
            var truth: [Int] = []
            var assigned: [Int] = []
            var hits = 0
            var scored = 0
            var window: [Bool] = []
            for index in 0..<(sessions / 2) {
                let template = Int(random.next() % UInt64(count))
                var calls: [String] = []
                for call in templateSets[half][template] {
                    let u = random.nextDouble()
                    if u < 0.1 / 3 {
                        continue
                    } else if u < 0.2 / 3 {
                        calls.append(vocabulary[Int(random.next() % UInt64(vocabulary.count))])
                    } else if u < 0.1 {
                        calls.append(call)
                        calls.append(vocabulary[Int(random.next() % UInt64(vocabulary.count))])
                    } else {
                        calls.append(call)
                    }
                }
                guard !calls.isEmpty else { continue }
                let principal = "p\(index % 37)"
                for (position, call) in calls.enumerated() {
                    if position > 0 {
                        let hit = miner.predict(principal: principal, recent: Array(calls[..<position])).contains { $0.call == call }
                        hits += hit ? 1 : 0
                        scored += 1
                        window.append(hit)
                    }
                    miner.observe(principal: principal, tool: call, at: time)
                    time += 1
                }
                // The session ends: a gap longer than the session timeout, then cluster it directly.
                time += miner.configuration.sessionGap + 1
                let clusterer = miner.clusterer
                if let cluster = clusterer.assign(clusterer.vector(calls))?.index {
                    truth.append(template)
                    assigned.append(cluster)
                }
                if half == 1, recover == nil, index % 100 == 99, window.count >= 500 {
                    let recent = window.suffix(500)
                    if Double(recent.filter { $0 }.count) / 500 >= firstAccuracy - 0.05 { recover = index + 1 }
                }
            }
            let accuracy = Double(hits) / Double(max(1, scored))
            if half == 0 { firstAccuracy = accuracy }
            var templateSequences = Set<[String]>()
            for template in templateSets[half] {
                for n in 2...3 where template.count >= n {
                    for start in 0...(template.count - n) { templateSequences.insert(Array(template[start..<(start + n)])) }
                }
            }
            let minedTop = miner.overall.top(20).map(\.item)
            halves.append(
                Half(
                    adjustedRandIndex: adjustedRandIndex(truth, assigned), nextCallAccuracy: accuracy,
                    topSequencePrecision: Double(minedTop.filter(templateSequences.contains).count) / Double(max(1, minedTop.count))
                )
            )
        }
        return Result(sessions: sessions, first: halves[0], second: halves[1], sessionsToRecover: recover, memoryBytes: miner.memoryBytes)
    }

    /// Hubert & Arabie's adjusted Rand index of two labelings.
    public static func adjustedRandIndex(_ a: [Int], _ b: [Int]) -> Double {
        var table: [Int: [Int: Int]] = [:]
        var rows: [Int: Int] = [:]
        var columns: [Int: Int] = [:]
        for (x, y) in zip(a, b) {
            table[x, default: [:]][y, default: 0] += 1
            rows[x, default: 0] += 1
            columns[y, default: 0] += 1
        }
        func pairs(_ n: Int) -> Double { Double(n) * Double(n - 1) / 2 }
        let index = table.values.reduce(0.0) { $0 + $1.values.reduce(0.0) { $0 + pairs($1) } }
        let rowSum = rows.values.reduce(0.0) { $0 + pairs($1) }
        let columnSum = columns.values.reduce(0.0) { $0 + pairs($1) }
        let expected = rowSum * columnSum / pairs(a.count)
        let maximum = (rowSum + columnSum) / 2
        return maximum == expected ? 1 : (index - expected) / (maximum - expected)
    }
}
