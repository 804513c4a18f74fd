import SwitchboardCore
import Testing

@testable import Supervisor

struct YAMLDocumentTests {
    @Test func resolvesScalarTypesLikeCompose() throws {
        let value = try YAMLDocument.parse("a: false\nb: {c: yes, d: 3, e: x, f: null, g: '3'}\nh: 1.5\n")
        #expect(value == ["a": false, "b": ["c": true, "d": 3, "e": "x", "f": .null, "g": "3"], "h": 1.5])
    }

    @Test func expandsAnchorsAndMergeKeysWithExplicitKeysWinning() throws {
        let yaml = """
            x-base: &base {a: 1, b: 2}
            x-more: &more {c: 3}
            one:
              <<: [*base, *more]
              b: 20
            """
        let value = try YAMLDocument.parse(yaml)
        #expect(value["one"] == ["b": 20, "a": 1, "c": 3])
    }

    @Test func duplicateKeysAreErrorsWithTheirPath() {
        #expect {
            try YAMLDocument.parse("services:\n  a: 1\n  a: 2\n")
        } throws: { error in
            "\(error)".contains("duplicated key(s): 'a'")
        }
    }
}
