import CDispatch
import CSwitchboard
import Foundation
import SwitchboardCore

/// File operations on ``ConfinedPath``s. Every path is opened with `openat2(root, relative,
/// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`: the kernel refuses any resolution that would leave the
/// root, whether through `..`, an absolute or escaping symlink, a symlink swapped in after a check, or
/// a `/proc` magic link. New files are written to a temporary name with `O_EXCL | O_NOFOLLOW` in a
/// directory held open by descriptor and renamed over the target, so a symlink planted at the target
/// is replaced, never followed. All functions block: call them through ``Blocking``.
enum FileAccess {
    static let pathOnly: Int32 = 0o10000000  // O_PATH
    static let resolveBeneath: UInt64 = 0x08
    static let resolveNoMagicLinks: UInt64 = 0x02
    static let resolveNoSymlinks: UInt64 = 0x04
    static let renameNoReplace: UInt32 = 1

    /// Opens `path` beneath its root. Symlinks inside the root are followed; anything leading out is a denial.
    static func open(_ path: ConfinedPath, flags: Int32, mode: mode_t = 0, followSymlinks: Bool = true) throws -> Int32 {
        let resolve = resolveBeneath | resolveNoMagicLinks | (followSymlinks ? 0 : resolveNoSymlinks)
        let fd = sb_openat2(path.root.descriptor, path.relative.isEmpty ? "." : path.relative, UInt64(flags | O_CLOEXEC), UInt64(mode), resolve)
        if fd < 0 { throw failure(-fd, path) }
        return fd
    }

    /// An open directory (usable with the `*at` calls and `fdopendir`).
    static func openDirectory(_ path: ConfinedPath) throws -> Int32 {
        try open(path, flags: O_RDONLY | O_DIRECTORY)
    }

    /// Opens the directory `path`, creating it and any missing parents when `create` is set.
    /// Each new directory is made with `mkdirat` in its parent's descriptor and reopened with `O_NOFOLLOW`.
    static func openDirectory(_ path: ConfinedPath, create: Bool) throws -> (fd: Int32, created: Bool) {
        do {
            return (try openDirectory(path), false)
        } catch let error as ToolFailure where create && error.code == ENOENT && !path.relative.isEmpty {
            let parent = try openDirectory(path.parent, create: true)
            defer { close(parent.fd) }
            if mkdirat(parent.fd, path.name, 0o755) != 0 && errno != EEXIST { throw failure(errno, path) }
            let fd = openat(parent.fd, path.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { throw failure(errno, path) }
            return (fd, true)
        }
    }

    /// `lstat` of the path itself (a symlink is described, not followed), or nil when it does not exist.
    static func status(_ path: ConfinedPath) throws -> stat? {
        var info = stat()
        if path.relative.isEmpty {
            guard fstat(path.root.descriptor, &info) == 0 else { throw failure(errno, path) }
            return info
        }
        let parent: Int32
        do {
            parent = try open(path.parent, flags: pathOnly | O_DIRECTORY)
        } catch let error as ToolFailure where error.code == ENOENT || error.code == ENOTDIR {
            return nil
        }
        defer { close(parent) }
        if fstatat(parent, path.name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
            if errno == ENOENT { return nil }
            throw failure(errno, path)
        }
        return info
    }

    /// Where an open descriptor really is, as a path beneath `root` (for writing through a symlink).
    static func confinedLocation(of fd: Int32, root: WorkspaceRoot) -> ConfinedPath? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, 4096)
        guard count > 0 else { return nil }
        let real = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let relative = root.relative(real) else { return nil }
        return ConfinedPath(root: root, relative: relative)
    }

    /// Reads up to `limit` bytes from the start of an open file.
    static func read(_ fd: Int32, limit: Int) throws -> [UInt8] {
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: min(max(limit, 1), 1 << 20))
        while bytes.count < limit {
            let want = min(chunk.count, limit - bytes.count)
            let got = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, want) }
            if got < 0 {
                if errno == EINTR { continue }
                throw ToolFailure("read failed: \(String(cString: strerror(errno)))", code: errno)
            }
            if got == 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return bytes
    }

    /// Writes every byte or throws.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ToolFailure("write failed: \(String(cString: strerror(errno)))", code: errno)
            }
            offset += written
        }
    }

    /// What an atomic write did.
    struct WriteOutcome: Sendable {
        /// Where the bytes went (the symlink's target when the path was a symlink inside the root).
        let path: ConfinedPath
        let created: Bool
        let bytes: Int
    }

    /// Replaces (or creates) `path` with `bytes`: temporary file with `O_EXCL | O_NOFOLLOW` in the same
    /// directory, `fsync`, `renameat` over the target, `fsync` of the directory. A reader sees the old or
    /// the new content, never a mix; a crash leaves the old file. A symlink at the target is written
    /// through when it stays inside the root and refused when it leads out or dangles.
    static func writeAtomically(_ path: ConfinedPath, bytes: [UInt8], createParents: Bool) throws -> WriteOutcome {
        guard !path.relative.isEmpty else { throw ToolFailure("\(path) is a root directory, not a file") }
        var target = path
        var mode: mode_t = 0o644
        var created = true
        if let existing = try status(path) {
            if existing.st_mode & S_IFMT == S_IFLNK {
                let fd: Int32
                do {
                    fd = try open(path, flags: pathOnly)
                } catch let error as ToolFailure where error.code == ENOENT {
                    throw PolicyDenial("path.dangling_symlink", "\(path) is a symbolic link to a file that does not exist; refusing to create its target")
                }
                defer { close(fd) }
                guard let real = confinedLocation(of: fd, root: path.root) else {
                    throw PolicyDenial("path.symlink_escape", "\(path) is a symbolic link leading outside its root")
                }
                target = real
                var info = stat()
                if fstat(fd, &info) == 0 {
                    guard info.st_mode & S_IFMT == S_IFREG else { throw ToolFailure("\(path) does not lead to a regular file") }
                    mode = info.st_mode & 0o7777
                }
            } else if existing.st_mode & S_IFMT == S_IFDIR {
                throw ToolFailure("\(path) is a directory")
            } else if existing.st_mode & S_IFMT != S_IFREG {
                throw ToolFailure("\(path) is not a regular file")
            } else {
                mode = existing.st_mode & 0o7777
            }
            created = false
        }
        let directory: Int32
        do {
            directory = try openDirectory(target.parent, create: createParents).fd
        } catch let error as ToolFailure where error.code == ENOENT {
            throw ToolFailure("the parent directory of \(path) does not exist; pass create_parents: true to create it")
        }
        defer { close(directory) }
        let temporary = ".\(target.name.prefix(64)).\(UInt32.random(in: 0...UInt32.max)).sbtmp"
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure(errno, target) }
        do {
            try writeAll(fd, bytes)
            guard fsync(fd) == 0 else { throw ToolFailure("fsync failed: \(String(cString: strerror(errno)))", code: errno) }
            fchmod(fd, mode)
            close(fd)
        } catch {
            close(fd)
            unlinkat(directory, temporary, 0)
            throw error
        }
        guard renameat(directory, temporary, directory, target.name) == 0 else {
            let code = errno
            unlinkat(directory, temporary, 0)
            throw failure(code, target)
        }
        fsync(directory)
        return WriteOutcome(path: target, created: created, bytes: bytes.count)
    }

    /// Appends to `path` (created when missing). The descriptor is opened beneath the root, so an
    /// escaping symlink is refused; appends are not atomic with respect to other writers.
    static func append(_ path: ConfinedPath, bytes: [UInt8], createParents: Bool) throws -> WriteOutcome {
        let existing = try status(path)
        let existed = existing != nil
        if let existing, existing.st_mode & S_IFMT == S_IFLNK {
            do {
                close(try open(path, flags: pathOnly))
            } catch let error as ToolFailure where error.code == ENOENT {
                throw PolicyDenial("path.dangling_symlink", "\(path) is a symbolic link to a file that does not exist; refusing to create its target")
            }
        }
        if createParents, !path.relative.isEmpty {
            let parent = try openDirectory(path.parent, create: true)
            close(parent.fd)
        }
        let fd = try open(path, flags: O_WRONLY | O_APPEND | O_CREAT, mode: 0o644)
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT != S_IFREG { throw ToolFailure("\(path) is not a regular file") }
        try writeAll(fd, bytes)
        fsync(fd)
        return WriteOutcome(path: path, created: !existed, bytes: bytes.count)
    }

    /// The error for a failed call on `path`: escapes become denials, the rest tool failures.
    static func failure(_ code: Int32, _ path: ConfinedPath) -> any Error {
        switch code {
        case EXDEV:
            return PolicyDenial("path.symlink_escape", "\(path) resolves outside its root (through a symbolic link, `..` or a mount)")
        case ELOOP:
            return ToolFailure("\(path): too many levels of symbolic links, or a /proc magic link (refused)", code: code)
        case ENOENT:
            return ToolFailure("\(path): no such file or directory", code: code)
        case ENOTDIR:
            return ToolFailure("\(path): a component of the path is not a directory", code: code)
        case EISDIR:
            return ToolFailure("\(path) is a directory", code: code)
        case EEXIST:
            return ToolFailure("\(path) already exists", code: code)
        case EACCES, EPERM:
            return ToolFailure("\(path): permission denied", code: code)
        case ENOSPC:
            return ToolFailure("\(path): no space left on device", code: code)
        case ENAMETOOLONG:
            return ToolFailure("\(path): name too long", code: code)
        default:
            return ToolFailure("\(path): \(String(cString: strerror(code)))", code: code)
        }
    }

    /// The type of a `stat` mode as the tools report it.
    static func typeName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "file"
        case S_IFDIR: return "directory"
        case S_IFLNK: return "symlink"
        case S_IFIFO: return "fifo"
        case S_IFSOCK: return "socket"
        case S_IFCHR, S_IFBLK: return "device"
        default: return "other"
        }
    }
}
