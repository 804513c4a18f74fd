import SwitchboardCore

/// Turns the paths a tool call names into cache tags, so that a write invalidates exactly the entries it
/// can affect.
///
/// Paths are taken from argument members (at any depth, so batch forms count) named ``pathKeys``
/// whose values are strings or arrays of strings. Each path is normalized lexically (`.`, `..`, `//`,
/// trailing `/`); absolute paths inside the workspace become workspace-relative, so `/ws/a.txt` and
/// `a.txt` are one path.
///
/// - An entry that read path P is tagged `s:P` ("P itself") and `u:A` for every ancestor A ("under A").
/// - A write to P removes the entries tagged `s:P` (P read), `u:P` (anything beneath P: P may be a
///   directory that was replaced, moved or had a command run in it) and `s:A` for every ancestor A
///   (listings and searches that include P). Entries for siblings of P survive.
/// - A tool that is not read-only and names no path, but whose input schema has a working-directory
///   member (`cwd`, `directory`…), writes the workspace root: it invalidates every path-tagged entry.
struct CacheTags: Sendable {
    /// Argument names that hold file-system paths.
    static let pathKeys: Set<String> = [
        "path", "paths", "file", "files", "file_path", "filePath", "source", "destination", "src", "dst",
        "cwd", "directory", "dir", "root", "working_directory", "workingDirectory", "workdir",
    ]
    /// Schema members that mean "runs in a directory" when a call leaves them out.
    static let directoryKeys: Set<String> = ["cwd", "directory", "dir", "root", "working_directory", "workingDirectory", "workdir"]

    /// The workspace root as an absolute, normalized path (nil: absolute paths stay absolute).
    let workspace: [Substring]?

    init(workspace: String?) {
        self.workspace = workspace.map { Self.components(of: $0).components }
    }

    /// Tags for an entry produced by a call with `arguments`.
    func entryTags(arguments: JSONValue?) -> [String] {
        var tags: Set<String> = []
        for path in paths(in: arguments) {
            tags.insert("s:" + path)
            for ancestor in Self.ancestors(of: path) { tags.insert("u:" + ancestor) }
        }
        return tags.sorted()
    }

    /// Tags whose entries a call of `tool` (not read-only) with `arguments` may have made stale.
    func writeTags(tool: ToolEntry, arguments: JSONValue?) -> [String] {
        var written = paths(in: arguments)
        if written.isEmpty, Self.runsInDirectory(tool) { written = [""] }
        var tags: Set<String> = []
        for path in written {
            tags.insert("s:" + path)
            tags.insert("u:" + path)
            for ancestor in Self.ancestors(of: path) { tags.insert("s:" + ancestor) }
        }
        return tags.sorted()
    }

    /// Normalized paths named in `arguments`.
    func paths(in arguments: JSONValue?) -> [String] {
        var found: [String] = []
        func visit(_ value: JSONValue, depth: Int) {
            guard depth < 8 else { return }
            switch value {
            case .object(let members):
                for (key, member) in members {
                    if Self.pathKeys.contains(key) {
                        switch member {
                        case .string(let text):
                            found.append(normalize(text))
                            continue
                        case .array(let items) where items.allSatisfy({ $0.stringValue != nil }):
                            found.append(contentsOf: items.compactMap(\.stringValue).map(normalize))
                            continue
                        default:
                            break
                        }
                    }
                    visit(member, depth: depth + 1)
                }
            case .array(let items):
                for item in items { visit(item, depth: depth + 1) }
            default:
                break
            }
        }
        if let arguments { visit(arguments, depth: 0) }
        return Array(Set(found)).sorted()
    }

    /// `""` is the workspace root; `a/b` is workspace-relative; `/x/y` is absolute outside the workspace;
    /// `~/x` is under the home directory.
    func normalize(_ path: String) -> String {
        let (absolute, parts) = Self.components(of: path)
        if path.hasPrefix("~") {
            return (["~"] + parts.dropFirst()).joined(separator: "/")
        }
        if absolute {
            if let workspace, parts.starts(with: workspace) {
                return parts.dropFirst(workspace.count).joined(separator: "/")
            }
            return "/" + parts.joined(separator: "/")
        }
        return parts.joined(separator: "/")
    }

    /// Every ancestor of a normalized path, nearest first, ending at its root (`""`, `/` or `~`).
    static func ancestors(of path: String) -> [String] {
        let root: String
        var parts: [Substring]
        if path.hasPrefix("/") {
            root = "/"
            parts = path.dropFirst().split(separator: "/")
        } else if path == "~" || path.hasPrefix("~/") {
            root = "~"
            parts = path.dropFirst(2).split(separator: "/")
        } else {
            root = ""
            parts = path.split(separator: "/")
        }
        guard !parts.isEmpty else { return [] }
        var result: [String] = []
        while parts.count > 1 {
            parts.removeLast()
            let joined = parts.joined(separator: "/")
            result.append(root == "/" ? "/" + joined : root == "~" ? "~/" + joined : joined)
        }
        result.append(root)
        return result
    }

    /// Lexical normalization: whether the path is absolute, and its components without `.`, `..` and empties.
    static func components(of path: String) -> (absolute: Bool, components: [Substring]) {
        var result: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !result.isEmpty { result.removeLast() }
            default: result.append(part)
            }
        }
        return (path.hasPrefix("/"), result)
    }

    private static func runsInDirectory(_ tool: ToolEntry) -> Bool {
        guard let properties = tool.definition["inputSchema"]?["properties"]?.objectValue else { return false }
        return properties.contains { directoryKeys.contains($0.key) }
    }
}
