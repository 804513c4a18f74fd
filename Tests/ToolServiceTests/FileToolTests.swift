import Foundation
import SwitchboardCore
import Testing

@testable import ToolService

/// The file tools against a real temporary workspace.
struct FileToolTests {
    @Test func readFileByLinesHeadTailAndByteCap() async throws {
        let harness = try ToolHarness()
        try harness.write("lines.txt", (0..<100).map { "line \($0)" }.joined(separator: "\n") + "\n")
        let middle = await harness.call("read_file", ["path": "lines.txt", "offset": 10, "length": 3])
        #expect(ToolHarness.text(middle) == "line 10\nline 11\nline 12")
        #expect(middle.structuredContent?["start_line"] == 10)
        #expect(middle.structuredContent?["next_offset"] == 13)
        #expect(middle.structuredContent?["total_lines"] == .null)
        let head = await harness.call("read_file", ["path": "lines.txt", "head": 2])
        #expect(ToolHarness.text(head) == "line 0\nline 1")
        let tail = await harness.call("read_file", ["path": "lines.txt", "tail": 2])
        #expect(ToolHarness.text(tail) == "line 98\nline 99")
        #expect(tail.structuredContent?["start_line"] == 98)
        #expect(tail.structuredContent?["total_lines"] == 100)
        let negative = await harness.call("read_file", ["path": "lines.txt", "offset": -3, "length": 3])
        #expect(ToolHarness.text(negative) == "line 97\nline 98\nline 99")
        let all = await harness.call("read_file", ["path": "lines.txt"])
        #expect(all.structuredContent?["total_lines"] == 100)
        #expect(all.structuredContent?["next_offset"] == nil)
        let capped = await harness.call("read_file", ["path": "lines.txt", "max_bytes": 20])
        #expect(capped.structuredContent?["truncated"] == true)
        #expect(ToolHarness.text(capped).hasPrefix("line 0\nline 1\n"))
        #expect(ToolHarness.text(capped).contains("continue with offset 2"))
        let both = await harness.call("read_file", ["path": "lines.txt", "head": 1, "tail": 1])
        #expect(both.isError)
        #expect(ToolHarness.text(both) == "arguments.head and arguments.tail cannot be used together")
        await harness.close()
    }

    @Test func readFileTailOfALargeFileReadsOnlyTheEnd() async throws {
        let harness = try ToolHarness()
        let handle = try #require(FileHandle(forWritingAtPath: { _ = FileManager.default.createFile(atPath: harness.root + "/big.log", contents: nil); return harness.root + "/big.log" }()))
        let block = Data(String(repeating: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", count: 16384).utf8)
        for _ in 0..<64 { handle.write(block) }  // 64 MiB
        handle.write(Data("second to last\nlast line\n".utf8))
        try handle.close()
        let tail = await harness.call("read_file", ["path": "big.log", "tail": 2])
        #expect(ToolHarness.text(tail) == "second to last\nlast line")
        #expect(tail.structuredContent?["total_lines"] == .null)
        let head = await harness.call("read_file", ["path": "big.log", "head": 1])
        #expect(ToolHarness.text(head).hasPrefix("0123456789abcdef"))
        await harness.close()
    }

    @Test func binaryFilesComeBackAsBase64WithTheirType() async throws {
        let harness = try ToolHarness()
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]
        _ = FileManager.default.createFile(atPath: harness.root + "/pixel.png", contents: Data(png))
        let image = await harness.call("read_file", ["path": "pixel.png"])
        #expect(image.content.first?["type"] == "image")
        #expect(image.content.first?["mimeType"] == "image/png")
        #expect(image.content.first?["data"]?.stringValue == Data(png).base64EncodedString())
        _ = FileManager.default.createFile(atPath: harness.root + "/blob.bin", contents: Data([0, 1, 2, 3, 255]))
        let blob = await harness.call("read_file", ["path": "blob.bin"])
        #expect(blob.content.first?["type"] == "resource")
        #expect(blob.content.first?["resource"]?["mimeType"] == "application/octet-stream")
        #expect(blob.structuredContent?["encoding"] == "base64")
        let forced = await harness.call("read_file", ["path": "pixel.png", "encoding": "text"])
        #expect(forced.structuredContent?["encoding"] == "text")
        let directory = await harness.call("read_file", ["path": "."])
        #expect(ToolHarness.text(directory) == ". is a directory; use list_directory")
        await harness.close()
    }

    @Test func writeFileIsAtomicAppendsAndCreatesParents() async throws {
        let harness = try ToolHarness()
        let created = await harness.call("write_file", ["path": "a/b/c.txt", "content": "one", "create_parents": true])
        #expect(created.structuredContent?["created"] == true)
        #expect(harness.read("a/b/c.txt") == "one")
        let missing = await harness.call("write_file", ["path": "x/y.txt", "content": "one"])
        #expect(missing.isError)
        #expect(ToolHarness.text(missing).contains("pass create_parents: true"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: harness.root + "/a/b/c.txt")
        let replaced = await harness.call("write_file", ["path": "a/b/c.txt", "content": "two"])
        #expect(replaced.structuredContent?["created"] == false)
        #expect(harness.read("a/b/c.txt") == "two")
        let mode = try FileManager.default.attributesOfItem(atPath: harness.root + "/a/b/c.txt")[.posixPermissions] as? Int
        #expect(mode == 0o600, "the file's mode was not kept")
        _ = await harness.call("write_file", ["path": "a/b/c.txt", "content": "+three", "mode": "append"])
        #expect(harness.read("a/b/c.txt") == "two+three")
        _ = await harness.call("write_file", ["path": "bin.dat", "content": .string(Data([0, 255, 7]).base64EncodedString()), "encoding": "base64"])
        #expect(FileManager.default.contents(atPath: harness.root + "/bin.dat") == Data([0, 255, 7]))
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.root + "/a/b") == ["c.txt"])
        // A symlink inside the root is written through, and stays a symlink.
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/alias.txt", withDestinationPath: "a/b/c.txt")
        _ = await harness.call("write_file", ["path": "alias.txt", "content": "through"])
        #expect(harness.read("a/b/c.txt") == "through")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: harness.root + "/alias.txt")) == "a/b/c.txt")
        await harness.close()
    }

    @Test func concurrentRewritesNeverLeaveAMixedFile() async throws {
        let harness = try ToolHarness()
        let contents = (0..<8).map { String(repeating: Character(UnicodeScalar(UInt8(65 + $0))), count: 200_000) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for round in 0..<32 {
                group.addTask {
                    _ = await harness.call("write_file", ["path": "shared.txt", "content": .string(contents[round % 8])])
                    if let text = harness.read("shared.txt") { #expect(contents.contains(text), "a reader saw a torn file") }
                }
            }
            try await group.waitForAll()
        }
        #expect(contents.contains(harness.read("shared.txt") ?? ""))
        await harness.close()
    }

    @Test func editFileChecksCountsWritesAtomicallyAndDiffs() async throws {
        let harness = try ToolHarness()
        try harness.write("code.swift", "let a = 1\nlet b = 2\nlet a2 = 1\n")
        let wrongCount = await harness.call("edit_file", ["path": "code.swift", "edits": [["old_text": "= 1", "new_text": "= 9"]]])
        #expect(wrongCount.isError)
        #expect(ToolHarness.text(wrongCount) == "arguments.edits[0].old_text occurs 2 times in code.swift, expected 1; nothing was written")
        let dryRun = await harness.call("edit_file", ["path": "code.swift", "edits": [["old_text": "= 1", "new_text": "= 9", "expected_replacements": 2]], "dry_run": true])
        #expect(!dryRun.isError)
        #expect(harness.read("code.swift") == "let a = 1\nlet b = 2\nlet a2 = 1\n")
        let diff = dryRun.structuredContent?["diff"]?.stringValue ?? ""
        #expect(diff.contains("-let a = 1\n+let a = 9\n"))
        #expect(diff.hasPrefix("--- a/code.swift\n+++ b/code.swift\n@@ -1,3 +1,3 @@"), "\(diff)")
        let sequence = await harness.call("edit_file", [
            "path": "code.swift",
            "edits": [["old_text": "let b = 2", "new_text": "let b = 3"], ["old_text": "let b = 3\n", "new_text": "let b = 4\nlet c = 5\n"]],
        ])
        #expect(!sequence.isError, "\(ToolHarness.text(sequence))")
        #expect(harness.read("code.swift") == "let a = 1\nlet b = 4\nlet c = 5\nlet a2 = 1\n")
        // A longer replacement in a large file keeps every byte (DesktopCommander #554 truncated such files).
        let large = String(repeating: "x", count: 150_000) + "MARK" + String(repeating: "y", count: 150_000)
        try harness.write("large.txt", large)
        _ = await harness.call("edit_file", ["path": "large.txt", "edits": [["old_text": "MARK", "new_text": .string(String(repeating: "z", count: 5000))]]])
        #expect(harness.read("large.txt")?.utf8.count == 305_000)
        // CRLF files accept LF edits.
        try harness.write("dos.txt", "one\r\ntwo\r\n")
        let crlf = await harness.call("edit_file", ["path": "dos.txt", "edits": [["old_text": "one\ntwo", "new_text": "1\n2"]]])
        #expect(!crlf.isError, "\(ToolHarness.text(crlf))")
        #expect(harness.read("dos.txt") == "1\r\n2\r\n")
        await harness.close()
    }

    @Test func listDirectoryWithDepthSizesAndPaging() async throws {
        let harness = try ToolHarness()
        for name in ["b.txt", "a.txt", "c/d.txt", "c/e/f.txt", ".hidden"] { try harness.write(name, name) }
        let top = await harness.call("list_directory")
        #expect(top.structuredContent?["entries"]?.arrayValue?.compactMap { $0["path"]?.stringValue } == [".hidden", "a.txt", "b.txt", "c"])
        #expect(ToolHarness.text(top).contains("[DIR]  c/"))
        let deep = await harness.call("list_directory", ["depth": 3, "include_hidden": false, "sizes": true])
        let paths = deep.structuredContent?["entries"]?.arrayValue?.compactMap { $0["path"]?.stringValue }
        #expect(paths == ["a.txt", "b.txt", "c", "c/d.txt", "c/e", "c/e/f.txt"])
        #expect(deep.structuredContent?["entries"]?.arrayValue?.first?["size"] == 5)
        let page = await harness.call("list_directory", ["depth": 3, "offset": 2, "limit": 2])
        #expect(page.structuredContent?["entries"]?.arrayValue?.compactMap { $0["path"]?.stringValue } == ["b.txt", "c"])
        #expect(page.structuredContent?["next_offset"] == 4)
        let bySize = await harness.call("list_directory", ["sort": "size", "include_hidden": false])
        #expect(bySize.structuredContent?["entries"]?.arrayValue?.first?["path"] != nil)
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/c/link", withDestinationPath: harness.outside)
        let links = await harness.call("list_directory", ["path": "c", "depth": 5])
        #expect(links.structuredContent?["entries"]?.arrayValue?.contains { $0["path"] == "link" && $0["type"] == "symlink" } == true)
        #expect(links.structuredContent?["entries"]?.arrayValue?.contains { $0["path"]?.stringValue?.hasPrefix("link/") == true } == false)
        await harness.close()
    }

    @Test func searchFilesByNameAndContentWithContextAndPaging() async throws {
        let harness = try ToolHarness()
        try harness.write("src/main.swift", "import Foundation\nlet needle = 1\nprint(needle)\n")
        try harness.write("src/util.swift", "// no match here\n")
        try harness.write("docs/readme.md", "Needle in docs\nsecond line\n")
        try harness.write(".git/config", "needle hidden\n")
        _ = FileManager.default.createFile(atPath: harness.root + "/bin.dat", contents: Data([0x6E, 0x65, 0x65, 0x64, 0x6C, 0x65, 0]))
        let names = await harness.call("search_files", ["pattern": "*.swift"])
        #expect(names.structuredContent?["results"]?.arrayValue?.compactMap { $0["path"]?.stringValue } == ["src/main.swift", "src/util.swift"])
        let glob = await harness.call("search_files", ["pattern": "**/*.{md,swift}"])
        #expect(glob.structuredContent?["results"]?.arrayValue?.count == 3)
        let content = await harness.call("search_files", ["query": "needle", "context_lines": 1])
        let results = content.structuredContent?["results"]?.arrayValue ?? []
        #expect(results.map { "\($0["path"]?.stringValue ?? ""):\($0["line"]?.intValue ?? 0)" } == ["docs/readme.md:1", "src/main.swift:2", "src/main.swift:3"])
        #expect(results[1]["before"] == ["import Foundation"])
        #expect(results[1]["after"] == ["print(needle)"])
        #expect(content.structuredContent?["skipped_binary"] == 1)
        let sensitive = await harness.call("search_files", ["query": "Needle", "case_sensitive": true])
        #expect(sensitive.structuredContent?["results"]?.arrayValue?.count == 1)
        let regex = await harness.call("search_files", ["query": "^let [a-z]+ =", "regex": true])
        #expect(regex.structuredContent?["results"]?.arrayValue?.first?["line"] == 2)
        let hidden = await harness.call("search_files", ["query": "hidden", "include_hidden": true])
        #expect(hidden.structuredContent?["results"]?.arrayValue?.first?["path"] == ".git/config")
        let page1 = await harness.call("search_files", ["query": "needle", "max_results": 2])
        #expect(page1.structuredContent?["next_offset"] == 2)
        let page2 = await harness.call("search_files", ["query": "needle", "max_results": 2, "offset": 2])
        #expect(page2.structuredContent?["results"]?.arrayValue?.first?["line"] == 3)
        #expect(page2.structuredContent?["next_offset"] == nil)
        let excluded = await harness.call("search_files", ["query": "needle", "exclude": ["docs"]])
        #expect(excluded.structuredContent?["results"]?.arrayValue?.count == 2)
        let neither = await harness.call("search_files", [:])
        #expect(ToolHarness.text(neither) == "arguments: give pattern (file names), query (contents) or both")
        let badRegex = await harness.call("search_files", ["query": "(", "regex": true])
        #expect(ToolHarness.text(badRegex).hasPrefix("arguments.query: invalid regular expression"))
        await harness.close()
    }

    @Test func fileInfoDirectoriesAndMoves() async throws {
        let harness = try ToolHarness()
        try harness.write("one.txt", "12345")
        let info = await harness.call("get_file_info", ["path": "one.txt"])
        #expect(info.structuredContent?["type"] == "file")
        #expect(info.structuredContent?["size"] == 5)
        #expect(info.structuredContent?["permissions"]?.stringValue?.count == 9)
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/ln", withDestinationPath: "one.txt")
        let link = await harness.call("get_file_info", ["path": "ln"])
        #expect(link.structuredContent?["type"] == "symlink")
        #expect(link.structuredContent?["symlink_target"] == "one.txt")
        let made = await harness.call("create_directory", ["path": "x/y/z"])
        #expect(made.structuredContent?["created"] == true)
        let again = await harness.call("create_directory", ["path": "x/y/z"])
        #expect(again.structuredContent?["created"] == false)
        let noParents = await harness.call("create_directory", ["path": "p/q", "parents": false])
        #expect(noParents.isError)
        let moved = await harness.call("move_file", ["source": "one.txt", "destination": "x/y/z/two.txt"])
        #expect(!moved.isError)
        #expect(harness.read("x/y/z/two.txt") == "12345")
        try harness.write("three.txt", "3")
        let clash = await harness.call("move_file", ["source": "three.txt", "destination": "x/y/z/two.txt"])
        #expect(ToolHarness.text(clash) == "x/y/z/two.txt already exists; pass overwrite: true to replace it")
        let overwrite = await harness.call("move_file", ["source": "three.txt", "destination": "x/y/z/two.txt", "overwrite": true])
        #expect(!overwrite.isError)
        #expect(harness.read("x/y/z/two.txt") == "3")
        let intoItself = await harness.call("move_file", ["source": "x", "destination": "x/y/inner"])
        #expect(ToolHarness.text(intoItself) == "cannot move x into itself")
        await harness.close()
    }

    @Test func batchRunsInOrderAndStopsAtTheFirstFailure() async throws {
        let harness = try ToolHarness()
        let batch = await harness.call("batch_file_operations", [
            "operations": [
                ["tool": "create_directory", "arguments": ["path": "out"]],
                ["tool": "write_file", "arguments": ["path": "out/a.txt", "content": "alpha"]],
                ["tool": "edit_file", "arguments": ["path": "out/a.txt", "edits": [["old_text": "alpha", "new_text": "beta"]]]],
                ["tool": "read_file", "arguments": ["path": "out/a.txt"]],
            ]
        ])
        #expect(!batch.isError, "\(ToolHarness.text(batch))")
        #expect(batch.structuredContent?["completed"] == 4)
        #expect(harness.read("out/a.txt") == "beta")
        let failing = await harness.call("batch_file_operations", [
            "operations": [
                ["tool": "read_file", "arguments": ["path": "missing.txt"]],
                ["tool": "write_file", "arguments": ["path": "never.txt", "content": "x"]],
            ]
        ])
        #expect(failing.isError)
        #expect(failing.structuredContent?["failed"] == 1)
        #expect(!FileManager.default.fileExists(atPath: harness.root + "/never.txt"))
        let invalid = await harness.call("batch_file_operations", [
            "operations": [["tool": "write_file", "arguments": ["content": "x"]], ["tool": "write_file", "arguments": ["path": "y.txt", "content": "y"]]]
        ])
        #expect(ToolHarness.text(invalid) == "invalid arguments: arguments.operations[0].arguments.path: is required (required)")
        #expect(!FileManager.default.fileExists(atPath: harness.root + "/y.txt"))
        let unknown = await harness.call("batch_file_operations", ["operations": [["tool": "execute_command", "arguments": ["command": "ls"]]]])
        #expect(ToolHarness.text(unknown).hasPrefix("invalid arguments: arguments.operations[0].tool: must be one of"))
        await harness.close()
    }
}
