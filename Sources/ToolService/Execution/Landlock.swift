import CDispatch
import CSwitchboard
import Foundation

/// Landlock rulesets for executed commands: the writable roots read-write, the read-only roots and the
/// system paths a program needs read-only, nothing else. The ruleset is applied in the child between
/// fork and exec (with `no_new_privs`), so it binds the program and everything it starts — an allowed
/// interpreter (`python3 -c`, `perl -e`, `awk 'BEGIN{system(…)}'`) cannot read or change anything outside.
/// With ABI 4+ TCP can be denied; with ABI 6+ the command cannot signal processes outside its sandbox
/// (such as the tool service) or connect to abstract Unix sockets outside it.
enum Landlock {
    /// The kernel's Landlock ABI version, 0 when Landlock is unavailable.
    static let abi: Int = max(0, Int(sb_landlock_abi()))

    // Filesystem rights (linux/landlock.h).
    static let execute: UInt64 = 1 << 0
    static let writeFile: UInt64 = 1 << 1
    static let readFile: UInt64 = 1 << 2
    static let readDir: UInt64 = 1 << 3
    static let refer: UInt64 = 1 << 13
    static let truncate: UInt64 = 1 << 14
    static let ioctlDevice: UInt64 = 1 << 15
    static let bindTCP: UInt64 = 1 << 0
    static let connectTCP: UInt64 = 1 << 1
    static let scopeAbstractUnixSocket: UInt64 = 1 << 0
    static let scopeSignal: UInt64 = 1 << 1

    /// Every filesystem right the running kernel knows.
    static func handledFilesystemRights(abi: Int) -> UInt64 {
        var rights: UInt64 = (1 << 13) - 1  // ABI 1: execute … make_sym
        if abi >= 2 { rights |= refer }
        if abi >= 3 { rights |= truncate }
        if abi >= 5 { rights |= ioctlDevice }
        return rights
    }

    /// Rights that make sense on a file (not a directory).
    static let fileRights: UInt64 = execute | writeFile | readFile | truncate | ioctlDevice

    /// A compiled ruleset; its descriptor stays open while any execution may use it.
    final class Ruleset: Sendable {
        let descriptor: Int32
        /// Paths of the policy that do not exist here and were left out.
        let skipped: [String]
        let abi: Int
        let networkRestricted: Bool
        let signalsScoped: Bool

        init(descriptor: Int32, skipped: [String], abi: Int, networkRestricted: Bool, signalsScoped: Bool) {
            self.descriptor = descriptor
            self.skipped = skipped
            self.abi = abi
            self.networkRestricted = networkRestricted
            self.signalsScoped = signalsScoped
        }

        deinit { close(descriptor) }
    }

    /// Builds a ruleset: `readWrite` paths get every right, `readOnly` paths execute + read. Globs are
    /// expanded; missing paths are skipped and reported.
    static func ruleset(readWrite: [String], readOnly: [String], network: Bool, abi: Int = Landlock.abi) throws(PolicyError) -> Ruleset {
        guard abi >= 1 else { throw PolicyError("the kernel does not offer Landlock") }
        let handled = handledFilesystemRights(abi: abi)
        let restrictNetwork = !network && abi >= 4
        let scoped: UInt64 = abi >= 6 ? scopeAbstractUnixSocket | scopeSignal : 0
        let fd = sb_landlock_create_ruleset(handled, restrictNetwork ? bindTCP | connectTCP : 0, scoped)
        guard fd >= 0 else { throw PolicyError("landlock_create_ruleset failed: \(String(cString: strerror(-fd)))") }
        var skipped: [String] = []
        func allow(_ pattern: String, rights: UInt64) throws(PolicyError) {
            for path in expand(pattern) {
                var info = stat()
                guard stat(path, &info) == 0, [S_IFDIR, S_IFREG, S_IFCHR].contains(info.st_mode & S_IFMT) else {
                    skipped.append(path)
                    continue
                }
                let granted = info.st_mode & S_IFMT == S_IFDIR ? rights & handled : rights & handled & fileRights
                let error = sb_landlock_allow(fd, path, granted)
                if error != 0 {
                    close(fd)
                    throw PolicyError("landlock rule for \(path): \(String(cString: strerror(error)))")
                }
            }
        }
        for path in readOnly { try allow(path, rights: execute | readFile | readDir) }
        for path in readWrite { try allow(path, rights: handled) }
        return Ruleset(descriptor: fd, skipped: skipped, abi: abi, networkRestricted: restrictNetwork, signalsScoped: scoped != 0)
    }

    /// A glob's matches, or the path itself when it has no glob characters.
    static func expand(_ pattern: String) -> [String] {
        guard pattern.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) else { return [pattern] }
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(pattern, 0, nil, &matches) == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { index in matches.gl_pathv[index].map { String(cString: $0) } }
    }
}
