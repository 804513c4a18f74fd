import CDispatch
import Foundation
import SwitchboardCore

/// `create_directory`: makes a directory and, by default, its missing parents; an existing directory is fine.
struct CreateDirectory: Tool {
    let definition = ToolDefinition(
        name: "create_directory",
        title: "Create a directory",
        description: "Create a directory in the workspace, with missing parents unless parents is false. Succeeds when it already exists.",
        inputSchema: Schema.object(
            [
                ("path", Schema.path("Directory to create.")),
                ("parents", ["type": "boolean", "description": "Create missing parent directories. Default true."]),
            ],
            required: ["path"]
        ),
        outputSchema: [
            "type": "object", "properties": ["path": ["type": "string"], "created": ["type": "boolean"]], "required": ["path", "created"],
        ],
        annotations: .additive
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let workspace = context.policy.workspace
        let path = try workspace.resolve(arguments["path"]?.stringValue ?? "", access: .write)
        let display = workspace.display(path)
        let parents = arguments["parents"]?.boolValue ?? true
        let created = try await Blocking.run { () throws -> Bool in
            if let existing = try FileAccess.status(path) {
                guard existing.st_mode & S_IFMT == S_IFDIR else { throw ToolFailure("\(display) exists and is not a directory") }
                return false
            }
            if !parents, try FileAccess.status(path.parent) == nil {
                throw ToolFailure("the parent of \(display) does not exist; pass parents: true to create it")
            }
            let opened = try FileAccess.openDirectory(path, create: true)
            close(opened.fd)
            return opened.created
        }
        return .structured(["path": .string(display), "created": .bool(created)], text: created ? "created \(display)" : "\(display) already exists")
    }
}
