import Foundation
import SwitchboardCore
import Testing

@testable import ToolService

/// Path normalization, globs, diffs, MIME types and redaction.
struct WorkspaceTests {
    @Test func pathsAreNormalizedLexically() {
        #expect(Workspace.normalize("/a/./b//c/../d") == "/a/b/d")
        #expect(Workspace.normalize("/../../etc") == "/etc")
        #expect(Workspace.normalize("/a/b/..") == "/a")
        #expect(Workspace.normalize("/") == "/")
    }

    @Test func globsMatchNamesAndPaths() {
        #expect(Glob("*.swift").matches(path: "src/a.swift", name: "a.swift"))
        #expect(!Glob("*.swift").matches(path: "src/a.swift.bak", name: "a.swift.bak"))
        #expect(Glob("src/*.swift").matches(path: "src/a.swift", name: "a.swift"))
        #expect(!Glob("src/*.swift").matches(path: "src/x/a.swift", name: "a.swift"))
        #expect(Glob("src/**/*.swift").matches(path: "src/x/y/a.swift", name: "a.swift"))
        #expect(Glob("**/*.swift").matches(path: "a.swift", name: "a.swift"))
        #expect(Glob("file?.{txt,md}").matches(path: "file1.md", name: "file1.md"))
        #expect(Glob("[!a-c]*").matches(path: "d", name: "d"))
        #expect(!Glob("[!a-c]*").matches(path: "b", name: "b"))
        #expect(Glob("README*", caseSensitive: false).matches(path: "readme.md", name: "readme.md"))
        #expect(Glob("[unterminated").matches(path: "[unterminated", name: "[unterminated"))
    }

    @Test func diffsAreUnified() {
        let diff = TextDiff.unified(old: "a\nb\nc\nd\n", new: "a\nB\nc\nd\ne\n", path: "f")
        #expect(diff == "--- a/f\n+++ b/f\n@@ -1,4 +1,5 @@\n a\n-b\n+B\n c\n d\n+e\n")
        #expect(TextDiff.unified(old: "same", new: "same", path: "f") == "")
        // Every script turns the old lines into the new ones, also past the step budget (wholesale).
        let cases: [([String], [String])] = [
            (["a", "b", "c", "a", "b", "b", "a"], ["c", "b", "a", "b", "a", "c"]),
            ((0..<3000).map { "old \($0)" }, (0..<3000).map { "new \($0)" }),
            ((0..<3000).map { "line \($0)" }, (0..<3000).map { $0 % 7 == 0 ? "changed \($0)" : "line \($0)" }),
        ]
        for (old, new) in cases {
            let script = TextDiff.edits(old, new)
            #expect(script.filter { $0.kind != .insert }.map(\.text) == old)
            #expect(script.filter { $0.kind != .delete }.map(\.text) == new)
        }
    }

    @Test func mimeTypesComeFromContentThenName() {
        #expect(MIMEType.detect([0x25, 0x50, 0x44, 0x46, 0x2D], name: "x") == "application/pdf")
        #expect(MIMEType.detect([0xFF, 0xD8, 0xFF, 0xE0], name: "photo") == "image/jpeg")
        #expect(MIMEType.detect([1, 2, 3], name: "a.svg") == "image/svg+xml")
        #expect(MIMEType.detect([1, 2, 3], name: "a.unknown") == "application/octet-stream")
        #expect(MIMEType.text(name: "data.json") == "application/json")
        #expect(MIMEType.text(name: "main.swift") == "text/plain")
    }

    @Test func secretsAreRedacted() {
        #expect(Redactor.scrub("git clone https://user:pa55@example.com/r.git") == "git clone https://user:[redacted]@example.com/r.git")
        #expect(Redactor.scrub("Authorization: Bearer abcdefghijklmnop") == "Authorization: [redacted]")
        #expect(Redactor.scrub("curl -H 'X: 1' --data token=abc123 x") == "curl -H 'X: 1' --data token=[redacted] x")
        #expect(Redactor.scrub("key ghp_abcdefghijklmnopqrstuvwxyz0123 end") == "key [redacted] end")
        #expect(Redactor.scrub("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----") == "[redacted]")
        #expect(Redactor.scrub("git log --author alice") == "git log --author alice")
        let arguments: JSONValue = ["args": ["--password", "hunter2", "--user", "bob"], "env": ["SECRET_KEY": "x", "HOME_DIR": "/h"], "content": "abc"]
        let redacted = Redactor.redact(arguments)
        #expect(redacted["args"] == ["--password", "[redacted]", "--user", "bob"])
        #expect(redacted["env"]?["SECRET_KEY"] == "[redacted]")
        #expect(redacted["env"]?["HOME_DIR"] == "/h")
        #expect(redacted["content"]?.stringValue?.hasPrefix("[3 bytes sha256:") == true)
    }
}
