import CDispatch
import Foundation
import SwitchboardCore

/// `get_file_info`: type, size, permissions, owner and times of a path (a symlink is described, not followed).
struct GetFileInfo: Tool {
    let definition = ToolDefinition(
        name: "get_file_info",
        title: "File information",
        description: "Describe a file or directory: type, size, permissions, owner, times, and for a symbolic link its target (the link itself is described, not followed).",
        inputSchema: Schema.object([("path", Schema.path("File or directory."))], required: ["path"]),
        outputSchema: [
            "type": "object",
            "properties": [
                "path": ["type": "string"], "type": ["type": "string"], "size": ["type": "integer"], "mode": ["type": "string"],
                "permissions": ["type": "string"], "uid": ["type": "integer"], "gid": ["type": "integer"], "modified": ["type": "string"],
                "accessed": ["type": "string"], "changed": ["type": "string"], "links": ["type": "integer"], "inode": ["type": "integer"],
                "symlink_target": ["type": "string"],
            ],
            "required": ["path", "type", "size", "mode", "permissions", "modified"],
        ],
        annotations: .readOnlyLocal
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let workspace = context.policy.workspace
        let path = try workspace.resolve(arguments["path"]?.stringValue ?? "")
        let display = workspace.display(path)
        return try await Blocking.run { () throws -> ToolResult in
            guard let info = try FileAccess.status(path) else { throw ToolFailure("\(display): no such file or directory") }
            func time(_ spec: timespec) -> JSONValue {
                .string(Timestamp.rfc3339(seconds: Int(spec.tv_sec), nanoseconds: Int(spec.tv_nsec)))
            }
            let mode = info.st_mode & 0o7777
            var members: [(key: String, value: JSONValue)] = [
                ("path", .string(display)), ("type", .string(FileAccess.typeName(info.st_mode))), ("size", .int(Int64(info.st_size))),
                ("mode", .string(String(format: "%04o", mode))), ("permissions", .string(Self.permissions(mode))),
                ("uid", .int(Int64(info.st_uid))), ("gid", .int(Int64(info.st_gid))), ("modified", time(info.st_mtim)),
                ("accessed", time(info.st_atim)), ("changed", time(info.st_ctim)), ("links", .int(Int64(info.st_nlink))),
                ("inode", .int(Int64(info.st_ino))),
            ]
            if info.st_mode & S_IFMT == S_IFLNK {
                let parent = try FileAccess.open(path.parent, flags: FileAccess.pathOnly | O_DIRECTORY)
                defer { close(parent) }
                var buffer = [CChar](repeating: 0, count: 4097)
                let count = readlinkat(parent, path.name, &buffer, 4096)
                if count >= 0 {
                    members.append(("symlink_target", .string(String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))))
                }
            }
            let text = members.map { "\($0.key): \($0.value.stringValue ?? $0.value.jsonString)" }.joined(separator: "\n")
            return .structured(.object(members), text: text)
        }
    }

    static func permissions(_ mode: mode_t) -> String {
        let flags: [(mode_t, Character)] = [(0o400, "r"), (0o200, "w"), (0o100, "x"), (0o40, "r"), (0o20, "w"), (0o10, "x"), (0o4, "r"), (0o2, "w"), (0o1, "x")]
        return String(flags.map { mode & $0.0 != 0 ? $0.1 : "-" })
    }
}
