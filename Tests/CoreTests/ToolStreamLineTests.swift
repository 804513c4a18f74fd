import SwitchboardCore
import Testing

/// The tool service's NDJSON call stream, both ends of it, and the helpers around it.
@Suite struct ToolStreamLineTests {
    func parse(_ line: [UInt8]) throws -> ToolStreamLine? {
        try line.dropLast().withUnsafeBytes { try ToolStreamLine.parse($0) }
    }

    @Test func linesRoundTripWithoutDecodingWhatTheyCarry() throws {
        let progress = ToolStreamLine.progress(2, total: 4, message: "half")
        #expect(progress.last == 0x0A)
        guard case .progress(let range)? = try parse(progress) else { Issue.record("not a progress line"); return }
        #expect(try JSONParser.parse(Array(progress[range])) == ["progress": 2, "total": 4, "message": "half"])
        let log = ToolStreamLine.log(.warning, logger: "t", data: ["k": "v"])
        guard case .log(let level, let logRange)? = try parse(log) else { Issue.record("not a log line"); return }
        #expect(level == .warning)
        #expect(try JSONParser.parse(Array(log[logRange])) == ["level": "warning", "logger": "t", "data": ["k": "v"]])
        let result = ToolStreamLine.result(Array(#"{"content":[],"isError":false}"#.utf8))
        guard case .result(let resultRange)? = try parse(result) else { Issue.record("not a result line"); return }
        #expect(Array(result[resultRange]) == Array(#"{"content":[],"isError":false}"#.utf8))
    }

    @Test func unknownKindsAreSkippedAndMalformedLinesNamed() throws {
        #expect(try parse(Array(#"{"heartbeat":{}}"#.utf8) + [0x0A]) == nil)
        #expect(throws: ContractError.self) { try parse(Array("nope\n".utf8)) }
        #expect(throws: ContractError.self) { try parse(Array(#"{"log":{"level":"loud","data":1}}"#.utf8) + [0x0A]) }
        #expect(throws: ContractError.self) { try parse(Array(#"{"result":[1]}"#.utf8) + [0x0A]) }
    }

    @Test func levelsFollowRFC5424Order() {
        #expect(ToolLogLevel.debug < .info && ToolLogLevel.warning < .error && ToolLogLevel.alert < .emergency)
        #expect(ToolLogLevel.allCases.count == 8)
    }

    @Test func arrayElementsAreListedAsRanges() throws {
        let text = Array(#" [ {"a":1} , "x", [2,3], null ] "#.utf8)
        let ranges = try text.withUnsafeBytes { try JSONParser.elements(of: $0) }
        #expect(ranges.map { String(decoding: text[$0], as: UTF8.self) } == [#"{"a":1}"#, #""x""#, "[2,3]", "null"])
        #expect(try Array("[]".utf8).withUnsafeBytes { try JSONParser.elements(of: $0) }.isEmpty)
        #expect(throws: JSONParseError.self) { try Array("{}".utf8).withUnsafeBytes { try JSONParser.elements(of: $0) } }
        #expect(throws: JSONParseError.self) { try Array("[1,]".utf8).withUnsafeBytes { try JSONParser.elements(of: $0) } }
    }

    @Test func aRegistryCancelsEverythingUnderAnID() {
        let registry = CancellationRegistry()
        let counter = Counter()
        let first = registry.add("a") { counter.add() }
        _ = registry.add("a") { counter.add() }
        _ = registry.add("b") { counter.add() }
        #expect(registry.cancel("a"))
        #expect(counter.value == 2)
        registry.remove("a", token: first)
        #expect(registry.count == 2)
        #expect(!registry.cancel("missing"))
        registry.cancelAll()
        #expect(counter.value == 4)
    }

    final class Counter: @unchecked Sendable {
        private(set) var value = 0
        func add() { value += 1 }
    }
}
