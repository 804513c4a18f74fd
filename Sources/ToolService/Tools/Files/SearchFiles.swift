import CDispatch
import Foundation
import SwitchboardCore

/// `search_files`: finds files by name (glob) and/or content (literal or regular expression), with
/// context lines, paged through a stable path order.
struct SearchFiles: Tool {
    let definition = ToolDefinition(
        name: "search_files",
        title: "Search files",
        description: """
            Search the workspace. pattern matches file names with a glob (*.swift, src/**/test_*.py, {a,b}.txt); query searches file \
            contents (literal text by default, a POSIX extended regular expression with regex: true), returning the path, line, \
            column and text of each matching line with context_lines around it. Give pattern, query or both. Results come in path order; \
            page with offset and max_results. Hidden files and directories are skipped unless include_hidden; binary files and files \
            larger than max_file_bytes are skipped. Symbolic links are not followed.
            """,
        inputSchema: Schema.object(
            [
                ("path", Schema.path("Directory to search. Default: the workspace root.")),
                ("pattern", ["type": "string", "minLength": 1, "maxLength": 1024, "description": "Glob on file names (or on paths when it contains /)."]),
                ("query", ["type": "string", "minLength": 1, "maxLength": 4096, "description": "Text to find in file contents."]),
                ("regex", ["type": "boolean", "description": "Treat query as a regular expression. Default false."]),
                ("case_sensitive", ["type": "boolean", "description": "Default false."]),
                ("context_lines", ["type": "integer", "minimum": 0, "maximum": 20, "description": "Lines of context before and after each match. Default 0."]),
                ("max_results", ["type": "integer", "minimum": 1, "maximum": 10_000, "description": "Most results to return. Default 100."]),
                ("offset", ["type": "integer", "minimum": 0, "maximum": 10_000_000, "description": "Results to skip (paging). Default 0."]),
                ("include_hidden", ["type": "boolean", "description": "Search names starting with a dot. Default false."]),
                ("exclude", ["type": "array", "maxItems": 100, "items": ["type": "string", "minLength": 1], "description": "Globs of names or paths to leave out (directories are not entered)."]),
                ("max_file_bytes", ["type": "integer", "minimum": 1, "maximum": 1_073_741_824, "description": "Skip larger files. Default 10 MiB."]),
            ],
            required: []
        ),
        outputSchema: [
            "type": "object",
            "properties": [
                "results": ["type": "array", "items": ["type": "object"]], "next_offset": ["type": "integer"], "files_scanned": ["type": "integer"],
                "skipped_binary": ["type": "integer"], "skipped_large": ["type": "integer"],
            ],
            "required": ["results", "files_scanned"],
        ],
        annotations: .readOnlyLocal
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        guard arguments["pattern"] != nil || arguments["query"] != nil else {
            throw ToolFailure("arguments: give pattern (file names), query (contents) or both")
        }
        let workspace = context.policy.workspace
        let path = try workspace.resolve(arguments["path"]?.stringValue ?? ".")
        let caseSensitive = arguments["case_sensitive"]?.boolValue ?? false
        var search = TreeSearch()
        search.namePattern = arguments["pattern"]?.stringValue.map { Glob($0, caseSensitive: caseSensitive) }
        search.excludes = (arguments["exclude"]?.arrayValue ?? []).compactMap(\.stringValue).map { Glob($0) }
        if let query = arguments["query"]?.stringValue {
            search.matcher = try TextMatcher(query: query, regex: arguments["regex"]?.boolValue ?? false, caseSensitive: caseSensitive)
        }
        search.includeHidden = arguments["include_hidden"]?.boolValue ?? false
        search.contextLines = Int(arguments["context_lines"]?.intValue ?? 0)
        search.maxResults = Int(arguments["max_results"]?.intValue ?? 100)
        search.offset = Int(arguments["offset"]?.intValue ?? 0)
        search.maxFileBytes = Int(arguments["max_file_bytes"]?.intValue ?? Int64(10 << 20))
        let running = search
        let progress = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                await context.progress(Double(running.scanned.value), nil, "files scanned")
            }
        }
        defer { progress.cancel() }
        let report = try await Blocking.run { try running.run(in: path) }
        var value: [(key: String, value: JSONValue)] = [("results", .array(report.results))]
        if report.hasMore { value.append(("next_offset", .int(Int64(search.offset + report.results.count)))) }
        value += [
            ("files_scanned", .int(Int64(report.filesScanned))), ("skipped_binary", .int(Int64(report.skippedBinary))),
            ("skipped_large", .int(Int64(report.skippedLarge))),
        ]
        if report.depthLimited { value.append(("depth_limited", true)) }
        var lines = report.results.map { result -> String in
            guard let line = result["line"]?.intValue else { return result["path"]?.stringValue ?? "" }
            let context = (result["before"]?.arrayValue ?? []).compactMap(\.stringValue).map { "  \($0)" }
                + ["\(result["path"]?.stringValue ?? ""):\(line): \(result["text"]?.stringValue ?? "")"]
                + (result["after"]?.arrayValue ?? []).compactMap(\.stringValue).map { "  \($0)" }
            return context.joined(separator: "\n")
        }
        if lines.isEmpty { lines = ["no matches (\(report.filesScanned) files scanned)"] }
        if report.hasMore { lines.append("[more results: continue with offset \(search.offset + report.results.count)]") }
        return .structured(.object(value), text: lines.joined(separator: "\n"))
    }
}
