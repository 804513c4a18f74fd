import SwitchboardCore

/// The set of tools this service offers, with compiled input schemas and the `GET /v1/tools` answer
/// serialized once.
struct ToolCatalog: Sendable {
    private let tools: [String: any Tool]
    private let schemas: [String: JSONSchema]
    /// `{"tools":[…],"revision":"…"}`, tools sorted by name.
    let listing: [UInt8]
    let revision: String

    init(_ tools: [any Tool]) {
        var byName: [String: any Tool] = [:]
        var schemas: [String: JSONSchema] = [:]
        for tool in tools {
            let name = tool.definition.name
            precondition(byName[name] == nil, "duplicate tool \(name)")
            byName[name] = tool
            do {
                schemas[name] = try JSONSchema(tool.definition.inputSchema)
            } catch {
                preconditionFailure("tool \(name): invalid input schema: \(error)")
            }
        }
        self.tools = byName
        self.schemas = schemas
        let sorted = tools.map(\.definition).sorted { $0.name < $1.name }
        let toolsJSON = JSONValue.array(sorted.map(\.json))
        revision = String(Digest.hex(Digest.sha256(toolsJSON.jsonBytes)).prefix(16))
        listing = JSONValue.object([("tools", toolsJSON), ("revision", .string(revision))]).jsonBytes
    }

    subscript(name: String) -> (any Tool)? { tools[name] }

    /// The compiled input schema of a tool in the catalogue.
    func schema(_ name: String) -> JSONSchema? { schemas[name] }

    var names: [String] { tools.keys.sorted() }

    /// Every tool of the product; with `conformanceFixtures`, also the MCP conformance fixtures.
    static func standard(conformanceFixtures: Bool = false) -> ToolCatalog {
        ToolCatalog(products + (conformanceFixtures ? ConformanceFixtures.tools : []))
    }

    /// The product's tools.
    static var products: [any Tool] {
        [
            ExecuteCommand(),
            StartProcess(),
            ReadProcessOutput(),
            SendInput(),
            ListProcesses(),
            TerminateProcess(),
            CheckCommandExists(),
            ReadFile(),
            WriteFile(),
            EditFile(),
            ListDirectory(),
            SearchFiles(),
            GetFileInfo(),
            CreateDirectory(),
            MoveFile(),
            BatchFileOperations(),
            GetSystemInfo(),
            GetSystemStatus(),
        ]
    }
}
