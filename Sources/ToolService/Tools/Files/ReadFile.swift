import CDispatch
import Foundation
import SwitchboardCore

/// `read_file`: a text file by lines (offset/length, head, tail; never more than a byte cap), or a
/// binary file as base64 with its MIME type (images as MCP image content).
struct ReadFile: Tool {
    let definition = ToolDefinition(
        name: "read_file",
        title: "Read a file",
        description: """
            Read a file in the workspace. Text is returned by lines: offset (0-based line; negative counts from the end) and length, or \
            head / tail for the first or last lines; reading stops at max_bytes. Large files are read only as far as needed, so the tail of \
            a huge log is cheap. Binary files (or encoding: base64) come back base64-encoded with their MIME type; images as image content.
            """,
        inputSchema: Schema.object(
            [
                ("path", Schema.path("File to read.")),
                ("offset", ["type": "integer", "minimum": -100_000_000, "maximum": 1_000_000_000, "description": "First line (0-based); negative: that many lines before the end. Default 0."]),
                ("length", ["type": "integer", "minimum": 1, "maximum": 1_000_000, "description": "Most lines to return. Default 2000."]),
                ("head", ["type": "integer", "minimum": 1, "maximum": 1_000_000, "description": "Return the first N lines (instead of offset/length)."]),
                ("tail", ["type": "integer", "minimum": 1, "maximum": 1_000_000, "description": "Return the last N lines (instead of offset/length)."]),
                ("max_bytes", ["type": "integer", "minimum": 1, "maximum": 1_073_741_824, "description": "Byte cap on what is returned. Default 262144; never more than the policy's files.max_read."]),
                ("encoding", ["enum": ["auto", "text", "base64"], "description": "auto (default): text unless the file looks binary."]),
            ],
            required: ["path"]
        ),
        outputSchema: [
            "type": "object",
            "properties": [
                "path": ["type": "string"], "encoding": ["enum": ["text", "base64"]], "mime_type": ["type": "string"], "size": ["type": "integer"],
                "start_line": ["type": "integer"], "lines": ["type": "integer"], "total_lines": ["type": ["integer", "null"]],
                "next_offset": ["type": "integer"], "truncated": ["type": "boolean"], "bytes": ["type": "integer"],
            ],
            "required": ["path", "encoding", "mime_type", "size", "truncated"],
        ],
        annotations: .readOnlyLocal
    )

    static let defaultLength = 2000
    static let defaultMaxBytes = 256 * 1024

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let chosen = ["offset", "head", "tail"].filter { arguments[$0] != nil }
        if chosen.count > 1 {
            throw ToolFailure("arguments.\(chosen[0]) and arguments.\(chosen[1]) cannot be used together")
        }
        if arguments["length"] != nil, arguments["head"] != nil || arguments["tail"] != nil {
            throw ToolFailure("arguments.length goes with offset, not with head or tail")
        }
        let path = try context.policy.workspace.resolve(arguments["path"]?.stringValue ?? "")
        let display = context.policy.workspace.display(path)
        let maxBytes = min(Int(arguments["max_bytes"]?.intValue ?? Int64(Self.defaultMaxBytes)), context.policy.files.maxRead)
        let encoding = arguments["encoding"]?.stringValue ?? "auto"
        var offset = Int(arguments["offset"]?.intValue ?? 0)
        var length = Int(arguments["length"]?.intValue ?? Int64(Self.defaultLength))
        if let head = arguments["head"]?.intValue {
            offset = 0
            length = Int(head)
        }
        if let tail = arguments["tail"]?.intValue {
            offset = -Int(tail)
            length = Int(tail)
        }
        let (firstLine, lineCount) = (offset, length)
        return try await Blocking.run { () throws -> ToolResult in
            let fd = try FileAccess.open(path, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY)
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw FileAccess.failure(errno, path) }
            if info.st_mode & S_IFMT == S_IFDIR { throw ToolFailure("\(display) is a directory; use list_directory") }
            guard info.st_mode & S_IFMT == S_IFREG else { throw ToolFailure("\(display) is not a regular file (\(FileAccess.typeName(info.st_mode)))") }
            let size = Int(info.st_size)
            var head = [UInt8](repeating: 0, count: min(size, 8192))
            let sniffed = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            head = Array(head.prefix(max(0, sniffed)))
            let binary = encoding == "base64" || (encoding == "auto" && Self.looksBinary(head, complete: size <= head.count))
            if binary {
                return try Self.readBinary(fd, size: size, head: head, path: path, display: display, maxBytes: maxBytes)
            }
            return try Self.readLines(fd, size: size, offset: firstLine, length: lineCount, maxBytes: maxBytes, path: path, display: display)
        }
    }

    /// NUL bytes or invalid UTF-8 (a sequence cut at the end of the sample is fine).
    static func looksBinary(_ sample: [UInt8], complete: Bool) -> Bool {
        if sample.contains(0) { return true }
        var bytes = sample[...]
        if !complete {
            // Drop a trailing partial UTF-8 sequence.
            var back = 0
            while back < 4, back < bytes.count, bytes[bytes.endIndex - 1 - back] & 0xC0 == 0x80 { back += 1 }
            if back < bytes.count, bytes[bytes.endIndex - 1 - back] >= 0xC0 { bytes = bytes.dropLast(back + 1) }
        }
        return String(validating: bytes, as: UTF8.self) == nil
    }

    private static func readBinary(_ fd: Int32, size: Int, head: [UInt8], path: ConfinedPath, display: String, maxBytes: Int) throws -> ToolResult {
        lseek(fd, 0, SEEK_SET)
        let bytes = try FileAccess.read(fd, limit: maxBytes)
        let mime = MIMEType.detect(head, name: path.name)
        let data = Data(bytes).base64EncodedString()
        let truncated = bytes.count < size
        let content: JSONValue
        if mime.hasPrefix("image/") && !truncated {
            content = ["type": "image", "data": .string(data), "mimeType": .string(mime)]
        } else if mime.hasPrefix("audio/") && !truncated {
            content = ["type": "audio", "data": .string(data), "mimeType": .string(mime)]
        } else {
            content = ["type": "resource", "resource": ["uri": .string("file://" + path.absolute), "mimeType": .string(mime), "blob": .string(data)]]
        }
        let structured: JSONValue = [
            "path": .string(display), "encoding": "base64", "mime_type": .string(mime), "size": .int(Int64(size)),
            "bytes": .int(Int64(bytes.count)), "truncated": .bool(truncated),
        ]
        var result = ToolResult(content: [content], structuredContent: structured, isError: false)
        if truncated {
            result.content.append(["type": "text", "text": .string("[\(display): first \(bytes.count) of \(size) bytes (max_bytes)]")])
        }
        return result
    }

    /// Lines `offset ..< offset + length` (negative offset: from the end), stopping at `maxBytes`.
    private static func readLines(
        _ fd: Int32, size: Int, offset: Int, length: Int, maxBytes: Int, path: ConfinedPath, display: String
    ) throws -> ToolResult {
        var lines: [Substring] = []
        var startLine = offset
        var totalLines: Int?
        var truncated = false
        var byteCount = 0
        if offset < 0 {
            // Read backwards in chunks until enough newlines are seen.
            let wanted = -offset
            var tail: [UInt8] = []
            var position = size
            var newlines = 0
            let chunk = 64 * 1024
            while position > 0, newlines <= wanted, tail.count <= maxBytes + chunk {
                let start = max(0, position - chunk)
                var buffer = [UInt8](repeating: 0, count: position - start)
                let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
                guard got >= 0 else { throw FileAccess.failure(errno, path) }
                newlines += buffer.prefix(got).reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
                tail = Array(buffer.prefix(got)) + tail
                position = start
            }
            var text = String(decoding: tail, as: UTF8.self)
            if text.hasSuffix("\n") { text.removeLast() }
            var all = text.split(separator: "\n", omittingEmptySubsequences: false)
            if position > 0, !all.isEmpty { all.removeFirst() }  // the first one may be partial
            if size == 0 { all = [] }
            let selected = all.suffix(wanted)
            if position == 0 {
                totalLines = all.count
                startLine = all.count - selected.count
            }
            for line in selected {
                if byteCount + line.utf8.count + 1 > maxBytes {
                    truncated = true
                    break
                }
                byteCount += line.utf8.count + 1
                lines.append(line)
            }
        } else {
            var lineNumber = 0
            var pending: [UInt8] = []
            var inLine = false
            var stopped = false
            var position = 0
            let chunk = 256 * 1024
            var buffer = [UInt8](repeating: 0, count: chunk)
            reading: while position < size {
                let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, chunk, off_t(position)) }
                guard got >= 0 else { throw FileAccess.failure(errno, path) }
                if got == 0 { break }
                position += got
                var start = 0
                while start < got {
                    let end = buffer.withUnsafeBytes { bytes -> Int in
                        guard let found = memchr(bytes.baseAddress! + start, 10, got - start) else { return got }
                        return UnsafeRawPointer(found) - bytes.baseAddress!
                    }
                    if end > start { inLine = true }
                    if lineNumber >= offset {
                        if lines.count >= length {
                            stopped = true
                            break reading
                        }
                        pending += buffer[start..<end]
                        if byteCount + pending.count + 1 > maxBytes {
                            if lines.isEmpty { lines.append(Substring(String(decoding: pending.prefix(maxBytes), as: UTF8.self))) }
                            truncated = true
                            stopped = true
                            break reading
                        }
                    }
                    guard end < got else { break }
                    if lineNumber >= offset {
                        lines.append(Substring(String(decoding: pending, as: UTF8.self)))
                        byteCount += pending.count + 1
                        pending.removeAll(keepingCapacity: true)
                    }
                    lineNumber += 1
                    inLine = false
                    start = end + 1
                }
            }
            if !stopped {
                if inLine {
                    if lineNumber >= offset, lines.count < length { lines.append(Substring(String(decoding: pending, as: UTF8.self))) }
                    lineNumber += 1
                }
                totalLines = lineNumber
            }
        }
        let nextOffset = startLine + lines.count
        var structured: [(key: String, value: JSONValue)] = [
            ("path", .string(display)), ("encoding", "text"), ("mime_type", .string(MIMEType.text(name: path.name))),
            ("size", .int(Int64(size))), ("start_line", .int(Int64(max(0, startLine)))), ("lines", .int(Int64(lines.count))),
            ("total_lines", totalLines.map { .int(Int64($0)) } ?? .null), ("truncated", .bool(truncated)),
        ]
        if totalLines.map({ nextOffset < $0 }) ?? (offset >= 0) { structured.append(("next_offset", .int(Int64(nextOffset)))) }
        var text = lines.joined(separator: "\n")
        if truncated { text += "\n[truncated at \(maxBytes) bytes; continue with offset \(nextOffset)]" }
        return .structured(.object(structured), text: text)
    }
}
