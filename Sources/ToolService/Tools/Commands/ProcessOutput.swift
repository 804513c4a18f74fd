import SwitchboardCore

/// The result shape shared by the process tools.
enum ProcessOutput {
    static let schema: JSONValue = [
        "type": "object",
        "properties": [
            "pid": ["type": "integer"], "running": ["type": "boolean"], "exit_code": ["type": "integer"], "signal": ["type": "string"],
            "terminated_by": ["type": "string"], "lines": ["type": "array", "items": ["type": "string"]], "first_line": ["type": "integer"],
            "next_offset": ["type": "integer"], "total_lines": ["type": "integer"], "dropped_lines": ["type": "integer"],
            "replica": ["type": "integer"],
        ],
        "required": ["pid", "running", "lines", "next_offset", "total_lines"],
    ]

    static func result(_ session: ProcessSession, read: ProcessSession.Read, replica: Int) -> ToolResult {
        var members: [(key: String, value: JSONValue)] = [("pid", .int(Int64(session.pid))), ("running", .bool(read.status == nil))]
        members += ProcessSession.statusMembers(read.status, endedBy: read.endedBy)
        members += [
            ("lines", .array(read.lines.map { .string($0) })), ("first_line", .int(Int64(read.firstLine))),
            ("next_offset", .int(Int64(read.nextOffset))), ("total_lines", .int(Int64(read.totalLines))),
            ("dropped_lines", .int(Int64(read.droppedLines))), ("replica", .int(Int64(replica))),
        ]
        var text = read.lines.joined(separator: "\n")
        if !text.isEmpty { text += "\n" }
        switch read.status {
        case nil: text += "[process \(session.pid) running; next_offset \(read.nextOffset)]"
        case .exited(let code)?: text += "[process \(session.pid) exited with code \(code)\(read.endedBy.map { " (\($0))" } ?? "")]"
        case .signaled(let signal)?: text += "[process \(session.pid) killed by \(ExitStatus.signalName(signal))\(read.endedBy.map { " (\($0))" } ?? "")]"
        }
        var result = ToolResult.structured(.object(members), text: text)
        if read.status != nil {
            result.execution = session.execution
            switch read.status {
            case .exited(let code)?: result.exitStatus = ["code": .int(Int64(code))]
            case .signaled(let signal)?: result.exitStatus = ["signal": .string(ExitStatus.signalName(signal))]
            case nil: break
            }
        }
        return result
    }
}
