import SwitchboardCore

/// A tool known from the tool service's catalogue, checked and prepared once when the catalogue is read.
struct ToolEntry: Sendable {
    let name: String
    /// The MCP `Tool` object as the backend published it.
    let definition: JSONValue
    /// `definition` serialized once; `tools/list` writes these bytes as they are.
    let definitionBytes: [UInt8]
    let isReadOnly: Bool
    let isIdempotent: Bool
    /// Arguments mirrored into `Mcp-Param-*` headers (`x-mcp-header` in the input schema).
    let headerParameters: [HeaderParameter]
    /// Client capabilities a call needs (`_meta["io.switchboard/requiredClientCapabilities"]`).
    let requiredCapabilities: JSONValue?

    /// A catalogue entry, or why the definition cannot be offered to MCP clients.
    static func make(_ definition: JSONValue) -> Result<ToolEntry, ToolDefinitionProblem> {
        guard let name = definition["name"]?.stringValue else { return .failure(ToolDefinitionProblem(tool: "?", reason: "name is missing")) }
        guard isValidName(name) else {
            return .failure(ToolDefinitionProblem(tool: name, reason: "name must be 1-64 characters of [A-Za-z0-9_./-]"))
        }
        guard let schema = definition["inputSchema"], schema["type"]?.stringValue == "object" else {
            return .failure(ToolDefinitionProblem(tool: name, reason: "inputSchema must be a JSON Schema of type object"))
        }
        let headerParameters: [HeaderParameter]
        switch HeaderParameter.all(in: schema) {
        case .success(let found): headerParameters = found
        case .failure(let problem): return .failure(ToolDefinitionProblem(tool: name, reason: problem.reason))
        }
        let annotations = definition["annotations"]
        return .success(
            ToolEntry(
                name: name, definition: definition, definitionBytes: definition.jsonBytes,
                isReadOnly: annotations?["readOnlyHint"]?.boolValue ?? false, isIdempotent: annotations?["idempotentHint"]?.boolValue ?? false,
                headerParameters: headerParameters, requiredCapabilities: definition["_meta"]?[MCPMeta.requiredClientCapabilities]
            )
        )
    }

    /// 1–64 characters of `[A-Za-z0-9_./-]` (the conformance suite's rule, stricter than SEP-986's 128).
    static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard (1...64).contains(utf8.count) else { return false }
        return utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2E || c == 0x2F || c == 0x2D
        }
    }
}

/// Why a tool from a backend's catalogue is left out of `tools/list`.
struct ToolDefinitionProblem: Error, Sendable, CustomStringConvertible {
    let tool: String
    let reason: String
    var description: String { "tool '\(tool)': \(reason)" }
}

extension ToolEntry {
    /// The entry for a definition already known to be valid (tests and fixtures); traps on an invalid one.
    init(name: String, definition: JSONValue) {
        guard case .success(let entry) = Self.make(definition), entry.name == name else { preconditionFailure("invalid tool definition for \(name)") }
        self = entry
    }
}
