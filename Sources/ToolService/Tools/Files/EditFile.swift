import CDispatch
import CSwitchboard
import Foundation
import SwitchboardCore

/// `edit_file`: exact search-and-replace edits with expected counts, applied all or nothing and written
/// atomically; `dry_run` returns the diff without writing.
struct EditFile: Tool {
    let definition = ToolDefinition(
        name: "edit_file",
        title: "Edit a file",
        description: """
            Replace exact text in a file. Each edit names old_text, new_text and how many times old_text must occur \
            (expected_replacements, default 1); if any count differs nothing is written and the error says what was found. Edits apply \
            in order, the file is replaced atomically, and a unified diff is returned. dry_run returns the diff without writing.
            """,
        inputSchema: Schema.object(
            [
                ("path", Schema.path("File to edit.")),
                (
                    "edits",
                    [
                        "type": "array", "minItems": 1, "maxItems": 100,
                        "items": Schema.object(
                            [
                                ("old_text", ["type": "string", "minLength": 1, "description": "Exact text to find (whitespace and line breaks count)."]),
                                ("new_text", ["type": "string", "description": "Replacement."]),
                                ("expected_replacements", ["type": "integer", "minimum": 1, "maximum": 100_000, "description": "How many occurrences must exist; all are replaced. Default 1."]),
                            ],
                            required: ["old_text", "new_text"]
                        ),
                    ]
                ),
                ("dry_run", ["type": "boolean", "description": "Return the diff without writing. Default false."]),
            ],
            required: ["path", "edits"]
        ),
        outputSchema: [
            "type": "object",
            "properties": ["path": ["type": "string"], "replacements": ["type": "integer"], "diff": ["type": "string"], "dry_run": ["type": "boolean"]],
            "required": ["path", "replacements", "diff", "dry_run"],
        ],
        annotations: ToolAnnotations(readOnly: false, destructive: true, idempotent: false, openWorld: false)
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let dryRun = arguments["dry_run"]?.boolValue ?? false
        let workspace = context.policy.workspace
        let path = try workspace.resolve(arguments["path"]?.stringValue ?? "", access: dryRun ? .read : .write)
        let display = workspace.display(path)
        let limit = context.policy.files.maxWrite
        let edits = arguments["edits"]?.arrayValue ?? []
        return try await Blocking.run { () throws -> ToolResult in
            let fd = try FileAccess.open(path, flags: O_RDONLY | O_NONBLOCK)
            var info = stat()
            let statOK = fstat(fd, &info) == 0
            defer { close(fd) }
            guard statOK, info.st_mode & S_IFMT == S_IFREG else { throw ToolFailure("\(display) is not a regular file") }
            guard Int(info.st_size) <= limit else {
                throw PolicyDenial("files.max_write", "\(display) is \(info.st_size) bytes; the policy edits files up to \(limit) bytes")
            }
            let bytes = try FileAccess.read(fd, limit: limit + 1)
            guard let original = String(validating: bytes, as: UTF8.self) else { throw ToolFailure("\(display) is not UTF-8 text") }
            var current = bytes
            var total = 0
            let crlf = Self.replace(Array("\r\n".utf8), with: [], in: bytes).count > 0
            for (index, edit) in edits.enumerated() {
                var old = Array((edit["old_text"]?.stringValue ?? "").utf8)
                var new = Array((edit["new_text"]?.stringValue ?? "").utf8)
                let expected = Int(edit["expected_replacements"]?.intValue ?? 1)
                var (replaced, count) = Self.replace(old, with: new, in: current)
                if count == 0, crlf, old.contains(10) {
                    // The file uses CRLF line ends and the edit was written with LF.
                    old = Self.replace([10], with: [13, 10], in: Self.replace([13, 10], with: [10], in: old).result).result
                    new = Self.replace([10], with: [13, 10], in: Self.replace([13, 10], with: [10], in: new).result).result
                    (replaced, count) = Self.replace(old, with: new, in: current)
                }
                guard count == expected else {
                    throw ToolFailure(
                        "arguments.edits[\(index)].old_text occurs \(count) time\(count == 1 ? "" : "s") in \(display), expected \(expected); nothing was written"
                    )
                }
                current = replaced
                total += count
            }
            let text = String(decoding: current, as: UTF8.self)
            let diff = TextDiff.unified(old: original, new: text, path: display)
            var written = false
            if !dryRun, current != bytes {
                _ = try FileAccess.writeAtomically(path, bytes: current, createParents: false)
                written = true
            }
            let value: JSONValue = ["path": .string(display), "replacements": .int(Int64(total)), "diff": .string(diff), "dry_run": .bool(dryRun)]
            let summary = dryRun ? "dry run: \(total) replacement(s), nothing written" : written ? "\(total) replacement(s) written to \(display)" : "no change"
            return .structured(value, text: diff.isEmpty ? summary : diff + summary)
        }
    }

    /// Every non-overlapping occurrence of `needle` replaced, compared byte for byte (no Unicode normalization).
    static func replace(_ needle: [UInt8], with replacement: [UInt8], in haystack: [UInt8]) -> (result: [UInt8], count: Int) {
        guard !needle.isEmpty, haystack.count >= needle.count else { return (haystack, 0) }
        var result: [UInt8] = []
        var count = 0
        var start = 0
        haystack.withUnsafeBytes { bytes in
            needle.withUnsafeBytes { pattern in
                while start + needle.count <= bytes.count,
                    let hit = sb_memmem(bytes.baseAddress! + start, bytes.count - start, pattern.baseAddress, needle.count)
                {
                    let offset = UnsafeRawPointer(hit) - bytes.baseAddress!
                    if count == 0 { result.reserveCapacity(haystack.count) }
                    result.append(contentsOf: bytes[start..<offset])
                    result.append(contentsOf: replacement)
                    count += 1
                    start = offset + needle.count
                }
            }
        }
        guard count > 0 else { return (haystack, 0) }
        result.append(contentsOf: haystack[start...])
        return (result, count)
    }
}
