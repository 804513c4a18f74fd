import Testing
@testable import SwitchboardCore

struct JSONParserTests {
    @Test func parsesEveryValueKind() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d"}, "e": ""} "#)
        #expect(value["a"] == [1, -2, 3.5, 1000.0, true, false, .null])
        #expect(value["b"]?["c"] == "d")
        #expect(value["e"] == "")
        #expect(value["missing"] == nil)
    }

    @Test func keepsMemberOrderAndLastDuplicateWins() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2,"z":3}"#)
        #expect(value.objectValue?.map(\.key) == ["z", "a"])
        #expect(value["z"] == 3)
    }

    @Test func integersStayExactAndOverflowBecomesDouble() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(Int64.min))
        #expect(try JSONParser.parse("9223372036854775808") == .double(9223372036854775808))
        #expect(try JSONParser.parse("0") == .int(0))
        #expect(try JSONParser.parse("-0.5") == .double(-0.5))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONParser.parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\u{8}\u{c}\n\r\té😀"))
        // A lone surrogate becomes U+FFFD rather than an invalid string.
        #expect(try JSONParser.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("{", "expected a string"),
        ("[1,]", "unexpected character"),
        ("{\"a\" 1}", "expected ':'"),
        ("01", "unexpected data after the JSON value"),
        ("1.", "digit expected after '.'"),
        ("1e", "digit expected in exponent"),
        ("\"abc", "unterminated string"),
        ("\"a\u{01}b\"", "control character in string"),
        ("\"\\x\"", "invalid escape"),
        ("\"\\u12G4\"", "invalid \\u escape"),
        ("tru", "invalid literal"),
        ("[1] 2", "unexpected data after the JSON value"),
        ("nul", "invalid literal"),
    ])
    func rejectsInvalidInputWithAReason(input: String, reason: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(input) }
        do {
            _ = try JSONParser.parse(input)
        } catch {
            #expect(error.reason.contains(reason), "got \(error.reason)")
        }
    }

    @Test func refusesNestingDeeperThanTheLimit() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONParser.parse(fine) }
    }

    @Test func listsMembersAsRawRanges() throws {
        let text = Array(#"{"id": 7, "params": {"name": "x", "arguments": {"big": [1, 2, 3]}}}"#.utf8)
        let members = try text.withUnsafeBytes { try JSONParser.members(of: $0) }
        #expect(members.map(\.key) == ["id", "params"])
        #expect(String(decoding: text[members[0].range], as: UTF8.self) == "7")
        let params = members[1].range
        let inner = try text.withUnsafeBytes { try JSONParser.members(of: UnsafeRawBufferPointer(rebasing: $0[params])) }
        let arguments = inner.first { $0.key == "arguments" }!
        #expect(String(decoding: text[params][params.lowerBound + arguments.range.lowerBound..<params.lowerBound + arguments.range.upperBound], as: UTF8.self) == #"{"big": [1, 2, 3]}"#)
    }

    @Test func membersRejectsNonObjectsAndBrokenJSON() {
        #expect(throws: JSONParseError.self) { try Array("[1]".utf8).withUnsafeBytes { try JSONParser.members(of: $0) } }
        #expect(throws: JSONParseError.self) { try Array(#"{"a": [1,}"#.utf8).withUnsafeBytes { try JSONParser.members(of: $0) } }
    }

    @Test func writerRoundTripsAndEscapes() throws {
        let value: JSONValue = ["text": "quote \" backslash \\ newline \n tab \t bell \u{7} é", "n": 1.5, "i": -3, "list": [true, .null]]
        let bytes = value.jsonBytes
        #expect(try JSONParser.parse(bytes) == value)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#"\u0007"#))
    }

    @Test func canonicalBytesIgnoreMemberOrder() throws {
        let a = try JSONParser.parse(#"{"b": 1, "a": {"y": 2, "x": 1.0}}"#)
        let b = try JSONParser.parse(#"{"a": {"x": 1, "y": 2}, "b": 1}"#)
        #expect(a == b)
        #expect(a.canonicalBytes == b.canonicalBytes)
        #expect(String(decoding: a.canonicalBytes, as: UTF8.self) == #"{"a":{"x":1,"y":2},"b":1}"#)
    }
}
