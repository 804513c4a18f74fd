import CDispatch
import Foundation
import SwitchboardCore

/// `write_file`: replaces a file atomically (temporary file, fsync, rename) or appends to it.
struct WriteFile: Tool {
    let definition = ToolDefinition(
        name: "write_file",
        title: "Write a file",
        description: """
            Write a file in the workspace. mode rewrite (default) replaces it atomically: the text goes to a temporary file that is \
            synced and renamed over the target, so readers never see a half-written file. mode append adds to the end. \
            create_parents makes missing directories. encoding base64 writes binary content.
            """,
        inputSchema: Schema.object(
            [
                ("path", Schema.path("File to write.")),
                ("content", ["type": "string", "maxLength": 1_073_741_824, "description": "The text (or base64 with encoding: base64)."]),
                ("mode", ["enum": ["rewrite", "append"], "description": "rewrite (default) or append."]),
                ("create_parents", ["type": "boolean", "description": "Create missing parent directories. Default false."]),
                ("encoding", ["enum": ["text", "base64"], "description": "How content is encoded. Default text."]),
            ],
            required: ["path", "content"]
        ),
        outputSchema: [
            "type": "object",
            "properties": ["path": ["type": "string"], "bytes": ["type": "integer"], "created": ["type": "boolean"], "mode": ["type": "string"]],
            "required": ["path", "bytes", "created", "mode"],
        ],
        annotations: ToolAnnotations(readOnly: false, destructive: true, idempotent: false, openWorld: false)
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let workspace = context.policy.workspace
        let path = try workspace.resolve(arguments["path"]?.stringValue ?? "", access: .write)
        let text = arguments["content"]?.stringValue ?? ""
        let bytes: [UInt8]
        if arguments["encoding"]?.stringValue == "base64" {
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                throw ToolFailure("arguments.content: not valid base64")
            }
            bytes = [UInt8](data)
        } else {
            bytes = Array(text.utf8)
        }
        guard bytes.count <= context.policy.files.maxWrite else {
            throw PolicyDenial("files.max_write", "arguments.content is \(bytes.count) bytes; the policy allows \(context.policy.files.maxWrite)")
        }
        let append = arguments["mode"]?.stringValue == "append"
        let parents = arguments["create_parents"]?.boolValue ?? false
        let outcome = try await Blocking.run {
            append ? try FileAccess.append(path, bytes: bytes, createParents: parents) : try FileAccess.writeAtomically(path, bytes: bytes, createParents: parents)
        }
        let shown = workspace.display(outcome.path)
        let value: JSONValue = ["path": .string(shown), "bytes": .int(Int64(bytes.count)), "created": .bool(outcome.created), "mode": append ? "append" : "rewrite"]
        return .structured(value, text: "\(append ? "appended" : "wrote") \(bytes.count) bytes to \(shown)\(outcome.created ? " (new file)" : "")")
    }
}
