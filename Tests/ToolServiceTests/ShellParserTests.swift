import Testing

@testable import ToolService

/// The conservative shell reader behind the command policy.
struct ShellParserTests {
    func words(_ script: String) throws -> [[String]] {
        try ShellParser.parse(script).commands.map { $0.words.map(\.text) }
    }

    @Test func findsEveryCommandWhereverItHides() throws {
        #expect(try words("a 1 | b 2 && c; d || e & f\ng") == [["a", "1"], ["b", "2"], ["c"], ["d"], ["e"], ["f"], ["g"]])
        #expect(try words("echo $(inner x) `tick` <(proc) >(out)") == [["inner", "x"], ["tick"], ["proc"], ["out"], ["echo", "$(…)", "`…`", "<(…)", "<(…)"]])
        #expect(try words("cat <<EOF\n$(hidden)\nEOF\nnext") == [["cat"], ["hidden"], ["next"]])
        #expect(try words("cat <<'EOF'\n$(not-run)\nEOF\n") == [["cat"]])
        #expect(try words("if a; then b; elif c; else d; fi") == [["a"], ["b"], ["c"], ["d"]])
        #expect(try words("for x in $(list); do body $x; done") == [["list"], ["body", "$x"]])
        #expect(try words("( sub ) && { group; }") == [["sub"], ["group"]])
        #expect(try words("echo ${V:-$(deflt)}") == [["deflt"], ["echo", "${V:-$(deflt)}"]])
    }

    @Test func removesQuotesAndMarksWhatChangesAtRunTime() throws {
        let parsed = try ShellParser.parse(#"'a b' "c $X" d\ e $'\x41' ~/f g* {h,i} plain"#).commands[0].words
        #expect(parsed.map(\.text) == ["a b", "c $X", "d e", "A", "~/f", "g*", "{h,i}", "plain"])
        #expect(parsed.map(\.isLiteral) == [true, false, true, true, false, false, false, true])
        let assignment = try ShellParser.parse("A=1 B=\"two\" cmd").commands[0]
        #expect(assignment.assignments.map(\.name) == ["A", "B"])
        #expect(assignment.words.map(\.text) == ["cmd"])
        #expect(try ShellParser.parse("ls -la").constructs.isEmpty)
        #expect(try ShellParser.parse("ls 2>&1 | wc").constructs == [">&", "|"])
    }

    @Test func refusesWhatItCannotReadWithCertainty() {
        for script in ["echo 'open", "echo \"open", "echo $(open", "f() { x; }", "case a in a) ;; esac", "((1))", "a=(1 2)", "echo `open", "select x in a; do :; done", "x <<EOF\nnever closed"] {
            #expect(throws: ShellParseError.self, "\(script)") { _ = try ShellParser.parse(script) }
        }
    }
}
