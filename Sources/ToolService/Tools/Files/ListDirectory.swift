import CDispatch
import Foundation
import SwitchboardCore

/// `list_directory`: a directory's entries, optionally recursive to a depth, with sizes and paging.
struct ListDirectory: Tool {
    let definition = ToolDefinition(
        name: "list_directory",
        title: "List a directory",
        description: """
            List the entries of a directory in the workspace, sorted by name (or size / modification time), recursively up to depth \
            levels. Symbolic links are listed, never followed. Use offset and limit to page through large directories; sizes adds \
            each file's size and modification time.
            """,
        inputSchema: Schema.object(
            [
                ("path", Schema.path("Directory to list. Default: the workspace root.")),
                ("depth", ["type": "integer", "minimum": 1, "maximum": 32, "description": "1 (default): only the directory's own entries."]),
                ("sizes", ["type": "boolean", "description": "Include size and modification time. Default false."]),
                ("include_hidden", ["type": "boolean", "description": "Include names starting with a dot. Default true."]),
                ("sort", ["enum": ["name", "size", "modified"], "description": "Order of the entries. Default name (tree order)."]),
                ("offset", ["type": "integer", "minimum": 0, "maximum": 100_000_000, "description": "Entries to skip. Default 0."]),
                ("limit", ["type": "integer", "minimum": 1, "maximum": 10_000, "description": "Most entries to return. Default 500."]),
            ]
        ),
        outputSchema: [
            "type": "object",
            "properties": [
                "path": ["type": "string"], "entries": ["type": "array", "items": ["type": "object"]], "total": ["type": "integer"],
                "next_offset": ["type": "integer"], "truncated": ["type": "boolean"],
            ],
            "required": ["path", "entries", "total"],
        ],
        annotations: .readOnlyLocal
    )

    /// Entries looked at in one call at most, whatever the paging asks.
    static let scanLimit = 200_000

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let workspace = context.policy.workspace
        let path = try workspace.resolve(arguments["path"]?.stringValue ?? ".")
        let depth = Int(arguments["depth"]?.intValue ?? 1)
        let sizes = arguments["sizes"]?.boolValue ?? false
        let hidden = arguments["include_hidden"]?.boolValue ?? true
        let sort = arguments["sort"]?.stringValue ?? "name"
        let offset = Int(arguments["offset"]?.intValue ?? 0)
        let limit = Int(arguments["limit"]?.intValue ?? 500)
        let display = workspace.display(path)
        return try await Blocking.run { () throws -> ToolResult in
            var entries: [(entry: DirectoryEntry, size: Int64, modified: Int)] = []
            var scanTruncated = false
            let needsStat = sizes || sort != "name"
            _ = try DirectoryWalker.walk(
                path, maxDepth: depth,
                descend: { hidden || !$0.name.hasPrefix(".") },
                visit: { entry, parent in
                    if !hidden, entry.name.hasPrefix(".") { return true }
                    guard entries.count < Self.scanLimit else {
                        scanTruncated = true
                        return false
                    }
                    var size: Int64 = 0
                    var modified = 0
                    if needsStat {
                        var info = stat()
                        if fstatat(parent, entry.name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
                            size = Int64(info.st_size)
                            modified = info.st_mtim.tv_sec
                        }
                    }
                    entries.append((entry, size, modified))
                    // Paging by name needs no more than offset + limit + 1 entries.
                    if sort == "name", entries.count > offset + limit { return false }
                    return true
                }
            )
            switch sort {
            case "size": entries.sort { $0.size != $1.size ? $0.size > $1.size : $0.entry.path < $1.entry.path }
            case "modified": entries.sort { $0.modified != $1.modified ? $0.modified > $1.modified : $0.entry.path < $1.entry.path }
            default: break
            }
            let page = entries.dropFirst(offset).prefix(limit)
            let more = entries.count > offset + limit
            var lines: [String] = []
            let items: [JSONValue] = page.map { item in
                var members: [(key: String, value: JSONValue)] = [("path", .string(item.entry.path)), ("type", .string(item.entry.typeName))]
                if sizes {
                    members.append(("size", .int(item.size)))
                    members.append(("modified", .string(Timestamp.rfc3339(seconds: Int(item.modified), nanoseconds: 0))))
                }
                let marker = item.entry.isDirectory ? "[DIR] " : item.entry.type == DT_LNK ? "[LINK]" : "[FILE]"
                lines.append("\(marker) \(item.entry.path)\(item.entry.isDirectory ? "/" : "")\(sizes && !item.entry.isDirectory ? " (\(item.size) bytes)" : "")")
                return .object(members)
            }
            var value: [(key: String, value: JSONValue)] = [
                ("path", .string(display)), ("entries", .array(items)),
                ("total", .int(Int64(sort == "name" && more ? offset + limit + 1 : entries.count))),
            ]
            if more {
                value.append(("next_offset", .int(Int64(offset + page.count))))
                lines.append("[more entries: continue with offset \(offset + page.count)]")
            }
            if scanTruncated { value.append(("truncated", true)) }
            if lines.isEmpty { lines.append("(empty)") }
            return .structured(.object(value), text: lines.joined(separator: "\n"))
        }
    }
}
