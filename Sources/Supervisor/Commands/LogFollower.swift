import Foundation

/// Follows one log file by its open descriptor, so lines written before a rotation are not lost; after a
/// rotation (a new file at the path) it continues with the new file from its start.
final class LogFollower {
    let path: String
    private var handle: FileHandle?
    private var inode: UInt64 = 0
    private var pending = Data()

    init(path: String, fromEnd: Bool) {
        self.path = path
        open(fromEnd: fromEnd)
    }

    private func open(fromEnd: Bool) {
        handle = FileHandle(forReadingAtPath: path)
        inode = Self.inode(of: path)
        if fromEnd { _ = try? handle?.seekToEnd() }
    }

    /// Complete new lines since the last poll.
    func poll() -> [String] {
        var lines = drain()
        if handle == nil || Self.inode(of: path) != inode {
            // Rotated (or created): what the old file still had was read above; go on with the new one.
            if handle != nil || FileManager.default.fileExists(atPath: path) {
                try? handle?.close()
                open(fromEnd: false)
                lines += drain()
            }
        }
        return lines
    }

    private func drain() -> [String] {
        guard let handle, let data = try? handle.readToEnd(), !data.isEmpty else { return [] }
        pending.append(data)
        var lines: [String] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
            pending.removeSubrange(pending.startIndex...newline)
        }
        return lines
    }

    private static func inode(of path: String) -> UInt64 {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : 0
    }
}
