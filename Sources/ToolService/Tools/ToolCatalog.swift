import SwitchboardCore

/// The set of tools this service offers, with the `GET /v1/tools` answer serialized once.
struct ToolCatalog: Sendable {
    private let tools: [String: any Tool]
    /// `{"tools":[…],"revision":"…"}`, tools sorted by name.
    let listing: [UInt8]
    let revision: String

    init(_ tools: [any Tool]) {
        var byName: [String: any Tool] = [:]
        for tool in tools {
            precondition(byName[tool.definition.name] == nil, "duplicate tool \(tool.definition.name)")
            byName[tool.definition.name] = tool
        }
        self.tools = byName
        let sorted = tools.map(\.definition).sorted { $0.name < $1.name }
        let toolsJSON = JSONValue.array(sorted.map(\.json))
        revision = String(Digest.hex(Digest.sha256(toolsJSON.jsonBytes)).prefix(16))
        listing = JSONValue.object([("tools", toolsJSON), ("revision", .string(revision))]).jsonBytes
    }

    subscript(name: String) -> (any Tool)? { tools[name] }

    var names: [String] { tools.keys.sorted() }

    /// Every tool of the product; with `conformanceFixtures`, also the MCP conformance fixtures.
    static func standard(workspace: String, conformanceFixtures: Bool = false) -> ToolCatalog {
        ToolCatalog([GetSystemInfo()] + (conformanceFixtures ? ConformanceFixtures.tools : []))
    }
}
