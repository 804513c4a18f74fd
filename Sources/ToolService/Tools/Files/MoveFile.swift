import CDispatch
import CSwitchboard
import Foundation
import SwitchboardCore

/// `move_file`: renames or moves a file or directory within the roots; an existing destination is
/// refused unless overwrite is set.
struct MoveFile: Tool {
    let definition = ToolDefinition(
        name: "move_file",
        title: "Move or rename",
        description: "Move or rename a file or directory within the allowed roots. Fails when the destination exists unless overwrite is true; symbolic links are moved, not followed.",
        inputSchema: Schema.object(
            [
                ("source", Schema.path("What to move.")),
                ("destination", Schema.path("New path (including the name).")),
                ("overwrite", ["type": "boolean", "description": "Replace an existing destination file. Default false."]),
                ("create_parents", ["type": "boolean", "description": "Create the destination's missing parent directories. Default false."]),
            ],
            required: ["source", "destination"]
        ),
        outputSchema: [
            "type": "object", "properties": ["source": ["type": "string"], "destination": ["type": "string"]], "required": ["source", "destination"],
        ],
        annotations: ToolAnnotations(readOnly: false, destructive: true, idempotent: false, openWorld: false)
    )

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> ToolResult {
        let workspace = context.policy.workspace
        let source = try workspace.resolve(arguments["source"]?.stringValue ?? "", argument: "source", access: .write)
        let destination = try workspace.resolve(arguments["destination"]?.stringValue ?? "", argument: "destination", access: .write)
        let overwrite = arguments["overwrite"]?.boolValue ?? false
        let parents = arguments["create_parents"]?.boolValue ?? false
        let from = workspace.display(source)
        let to = workspace.display(destination)
        guard !source.relative.isEmpty, !destination.relative.isEmpty else { throw ToolFailure("a root directory cannot be moved or replaced") }
        try await Blocking.run {
            guard try FileAccess.status(source) != nil else { throw ToolFailure("\(from): no such file or directory") }
            let sourceParent = try FileAccess.open(source.parent, flags: FileAccess.pathOnly | O_DIRECTORY)
            defer { close(sourceParent) }
            let destinationParent: Int32
            do {
                destinationParent = try FileAccess.openDirectory(destination.parent, create: parents).fd
            } catch let error as ToolFailure where error.code == ENOENT {
                throw ToolFailure("the parent directory of \(to) does not exist; pass create_parents: true to create it")
            }
            defer { close(destinationParent) }
            let error = sb_renameat2(sourceParent, source.name, destinationParent, destination.name, overwrite ? 0 : FileAccess.renameNoReplace)
            switch error {
            case 0: return
            case EEXIST, ENOTEMPTY: throw ToolFailure("\(to) already exists; pass overwrite: true to replace it")
            case EXDEV: throw ToolFailure("\(from) and \(to) are on different file systems; copy and delete instead")
            case EINVAL: throw ToolFailure("cannot move \(from) into itself")
            default: throw FileAccess.failure(error, destination)
            }
        }
        return .structured(["source": .string(from), "destination": .string(to)], text: "moved \(from) to \(to)")
    }
}
