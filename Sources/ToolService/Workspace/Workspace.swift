import CDispatch
import Foundation
import SwitchboardCore

/// One directory tree the tools may work in, held open so that every file operation is resolved
/// beneath it by the kernel (`openat2` with `RESOLVE_BENEATH`) rather than by comparing strings.
final class WorkspaceRoot: Sendable {
    /// The real path (symlinks resolved).
    let path: String
    /// The path as configured, when it differs from the real one (`/tmp/x` vs `/private/tmp/x`).
    let configured: String
    let writable: Bool
    /// `O_PATH | O_DIRECTORY` descriptor of the root.
    let descriptor: Int32

    /// A relative `configuredPath` (the default `SWITCHBOARD_WORKSPACE` is `.`) starts at the current directory.
    init(path configuredPath: String, writable: Bool) throws(PolicyError) {
        let absolute = configuredPath.hasPrefix("/") ? configuredPath : FileManager.default.currentDirectoryPath + "/" + configuredPath
        let configured = Workspace.normalize(absolute)
        guard let real = realpath(configured, nil) else {
            throw PolicyError("root \(configuredPath): \(String(cString: strerror(errno)))")
        }
        let path = String(cString: real)
        free(real)
        guard path != "/" else { throw PolicyError("root \(configuredPath) resolves to /, which is never allowed as a root") }
        for system in ["/proc", "/sys", "/dev", "/boot", "/etc"] where path == system || path.hasPrefix(system + "/") {
            throw PolicyError("root \(configuredPath) is under \(system), which is never allowed as a root")
        }
        let fd = open(path, FileAccess.pathOnly | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw PolicyError("root \(configuredPath): \(String(cString: strerror(errno)))") }
        self.path = path
        self.configured = configured
        self.writable = writable
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// The part of `absolute` (already normalized) below this root, "" for the root itself, or nil when
    /// it is not under the root. Separator-aware: `/srv/work-evil` is not under `/srv/work`.
    func relative(_ absolute: String) -> String? {
        // Byte-wise: Swift's String comparison treats canonically equivalent Unicode as equal, the kernel does not.
        let bytes = absolute.utf8
        for spelling in configured == path ? [path] : [path, configured] {
            let prefix = spelling.utf8
            guard bytes.starts(with: prefix) else { continue }
            let rest = bytes.dropFirst(prefix.count)
            if rest.isEmpty { return "" }
            if rest.first == UInt8(ascii: "/") { return String(decoding: rest.dropFirst(), as: UTF8.self) }
        }
        return nil
    }
}

/// A path the policy accepted: a root and a normalized path below it without `.` or `..`.
struct ConfinedPath: Sendable, CustomStringConvertible {
    let root: WorkspaceRoot
    /// "" for the root itself, else `a/b/c`.
    let relative: String

    var absolute: String { relative.isEmpty ? root.path : root.path + "/" + relative }
    var description: String { absolute }
    /// The last component ("" for the root).
    var name: String { relative.isEmpty ? "" : String(relative.split(separator: "/").last ?? "") }
    /// The directory holding this path (the root holds itself).
    var parent: ConfinedPath {
        guard let slash = relative.lastIndex(of: "/") else { return ConfinedPath(root: root, relative: "") }
        return ConfinedPath(root: root, relative: String(relative[..<slash]))
    }

    func appending(_ component: String) -> ConfinedPath {
        ConfinedPath(root: root, relative: relative.isEmpty ? component : relative + "/" + component)
    }
}

/// The allowed roots and how a caller's path becomes a ``ConfinedPath``: `~` expanded, relative paths
/// taken from the first root, `.` and `..` removed lexically, then matched against the roots. Whatever
/// passes is opened beneath its root's descriptor, so symlinks, swaps between check and use and
/// `/proc/self/root`-style magic links cannot lead outside (see ``FileAccess``).
final class Workspace: Sendable {
    let roots: [WorkspaceRoot]
    /// Path components file tools never touch (`.switchboard`).
    let protected: Set<String>
    /// What `~` expands to.
    let home: String

    init(roots: [WorkspaceRoot], protected: [String], home: String) {
        precondition(!roots.isEmpty, "a workspace needs a root")
        self.roots = roots
        self.protected = Set(protected)
        self.home = home
    }

    var primary: WorkspaceRoot { roots[0] }

    /// Whether a path will be written (needs a writable root) or only read.
    enum Access { case read, write }

    /// Resolves a caller's path. `argument` names the argument in denials (`arguments.path`).
    func resolve(_ raw: String, argument: String = "path", access: Access = .read) throws(PolicyDenial) -> ConfinedPath {
        guard !raw.utf8.contains(0) else { throw PolicyDenial("path.invalid", "arguments.\(argument) contains a NUL byte") }
        guard raw.utf8.count <= 4096 else { throw PolicyDenial("path.invalid", "arguments.\(argument) is longer than 4096 bytes") }
        var text = raw.isEmpty ? "." : raw
        if text == "~" || text.hasPrefix("~/") {
            text = home + text.dropFirst()
        } else if text.hasPrefix("~") {
            throw PolicyDenial("path.invalid", "arguments.\(argument): '~user' paths are not supported")
        }
        if !text.hasPrefix("/") { text = primary.path + "/" + text }
        let absolute = Self.normalize(text)
        for root in roots {
            guard let relative = root.relative(absolute) else { continue }
            let components = relative.split(separator: "/")
            if let hidden = components.first(where: { protected.contains(String($0)) }) {
                throw PolicyDenial("path.protected", "arguments.\(argument) '\(raw)' goes through '\(hidden)', which the policy protects")
            }
            if access == .write && !root.writable {
                throw PolicyDenial("path.read_only_root", "arguments.\(argument) '\(raw)' is in the read-only root \(root.path)")
            }
            return ConfinedPath(root: root, relative: relative)
        }
        throw PolicyDenial(
            "path.outside_roots", "arguments.\(argument) '\(raw)' is outside the allowed roots (\(roots.map(\.path).joined(separator: ", ")))"
        )
    }

    /// Lexical normalization of an absolute path: repeated slashes, `.` and `..` removed (`/..` is `/`).
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(component)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// A path for display relative to the primary root when it is below it.
    func display(_ path: ConfinedPath) -> String {
        path.root === primary ? (path.relative.isEmpty ? "." : path.relative) : path.absolute
    }
}
