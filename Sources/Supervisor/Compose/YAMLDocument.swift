import SwitchboardCore
import Yams

/// Turns YAML into ``JSONValue`` the way compose reads it: YAML 1.1 scalars resolved, anchors and
/// aliases expanded, `<<` merge keys applied (explicit keys win), key order kept.
enum YAMLDocument {
    static func parse(_ text: String) throws(ComposeError) -> JSONValue {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ComposeError(path: "", message: "not valid YAML: \(error)")
        }
        guard let node else { return .object([]) }
        return try convert(node, path: "")
    }

    private static func convert(_ node: Node, path: String) throws(ComposeError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map { .int(Int64($0)) } ?? .string(scalar.string)
            case .float: return node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            var elements: [JSONValue] = []
            for (index, element) in sequence.enumerated() {
                elements.append(try convert(element, path: "\(path)[\(index)]"))
            }
            return .array(elements)
        case .mapping(let mapping):
            var members: [(key: String, value: JSONValue)] = []
            var merged: [(key: String, value: JSONValue)] = []
            for (key, value) in mapping {
                if key.tag.rawValue == Tag.Name.merge.rawValue || key.scalar?.string == "<<" {
                    let sources: [Node]
                    switch value {
                    case .mapping: sources = [value]
                    case .sequence(let sequence): sources = Array(sequence)
                    default: throw ComposeError(path: path, message: "a << merge key needs a mapping or a list of mappings")
                    }
                    for source in sources {
                        guard case .object(let inner) = try convert(source, path: path) else {
                            throw ComposeError(path: path, message: "a << merge key needs a mapping or a list of mappings")
                        }
                        for member in inner where !merged.contains(where: { $0.key == member.key }) { merged.append(member) }
                    }
                    continue
                }
                guard let name = key.scalar?.string else { throw ComposeError(path: path, message: "mapping keys must be scalars") }
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                if members.contains(where: { $0.key == name }) {
                    throw ComposeError(path: childPath, message: "duplicate key")
                }
                members.append((name, try convert(value, path: childPath)))
            }
            for member in merged where !members.contains(where: { $0.key == member.key }) {
                members.append(member)
            }
            return .object(members)
        case .alias:
            throw ComposeError(path: path, message: "unresolved YAML alias")
        }
    }
}

/// A problem in a compose file, located by the dotted path of the bad key.
struct ComposeError: Error, CustomStringConvertible, Sendable {
    let path: String
    let message: String
    var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
