import CDispatch
import Foundation

/// One entry met while walking a tree.
struct DirectoryEntry: Sendable {
    /// Path relative to the walk's start (`a/b.txt`).
    let path: String
    let name: String
    /// `DT_*` type; symlinks are reported as symlinks, never followed.
    let type: UInt8
    /// 1 for the start directory's children.
    let depth: Int

    var isDirectory: Bool { type == DT_DIR }
    var isFile: Bool { type == DT_REG }

    var typeName: String {
        switch Int32(type) {
        case Int32(DT_DIR): return "directory"
        case Int32(DT_REG): return "file"
        case Int32(DT_LNK): return "symlink"
        case Int32(DT_FIFO): return "fifo"
        case Int32(DT_SOCK): return "socket"
        case Int32(DT_CHR), Int32(DT_BLK): return "device"
        default: return "other"
        }
    }
}

/// Depth-first walks below a confined directory, in name order, through directory descriptors opened
/// with `O_NOFOLLOW`: symlinks are listed but never entered, so a walk cannot leave its root.
enum DirectoryWalker {
    /// What a walk saw besides the entries it reported.
    struct Summary: Sendable {
        var directoriesUnreadable = 0
        /// A directory deeper than ``DirectoryWalker/maxDepth`` was not entered.
        var depthLimited = false
        var stopped = false
    }

    /// Hard ceiling on depth, whatever the caller asks (a deeply nested tree must not exhaust descriptors).
    static let maxDepth = 128

    /// Walks `start`. `descend(entry)` decides whether to enter a directory; `visit(entry, parent)` gets
    /// every entry with its parent directory's descriptor and returns false to stop the walk.
    static func walk(
        _ start: ConfinedPath, maxDepth: Int, descend: (DirectoryEntry) -> Bool, visit: (DirectoryEntry, Int32) throws -> Bool
    ) throws -> Summary {
        let fd = try FileAccess.openDirectory(start)
        var summary = Summary()
        try walk(fd: fd, prefix: "", depth: 1, maxDepth: min(maxDepth, Self.maxDepth), summary: &summary, descend: descend, visit: visit)
        return summary
    }

    /// Takes ownership of `fd`.
    private static func walk(
        fd: Int32, prefix: String, depth: Int, maxDepth: Int, summary: inout Summary, descend: (DirectoryEntry) -> Bool,
        visit: (DirectoryEntry, Int32) throws -> Bool
    ) throws {
        guard let directory = fdopendir(fd) else {
            close(fd)
            summary.directoriesUnreadable += 1
            return
        }
        defer { closedir(directory) }
        let parent = dirfd(directory)
        var entries: [(name: String, type: UInt8)] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            var type = entry.pointee.d_type
            if type == DT_UNKNOWN {
                var info = stat()
                if fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
                    type = UInt8(truncatingIfNeeded: (info.st_mode & S_IFMT) >> 12)
                }
            }
            entries.append((name, type))
        }
        entries.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        for (name, type) in entries {
            let entry = DirectoryEntry(path: prefix.isEmpty ? name : prefix + "/" + name, name: name, type: type, depth: depth)
            guard try visit(entry, parent) else {
                summary.stopped = true
                return
            }
            guard entry.isDirectory, descend(entry) else { continue }
            guard depth < maxDepth else {
                if depth >= Self.maxDepth { summary.depthLimited = true }
                continue
            }
            let child = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else {
                summary.directoriesUnreadable += 1
                continue
            }
            try walk(fd: child, prefix: entry.path, depth: depth + 1, maxDepth: maxDepth, summary: &summary, descend: descend, visit: visit)
            if summary.stopped { return }
        }
    }
}
