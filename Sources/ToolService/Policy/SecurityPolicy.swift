import Foundation
import SwitchboardCore

/// Why a policy file was rejected; the previous policy stays in force.
struct PolicyError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The security policy as written: one JSON file (`SWITCHBOARD_POLICY_FILE`), or the safe defaults.
/// It is never changed by a tool call; the service reloads it on SIGHUP and when the file changes.
/// `docs/operations.md` is the reference for every key.
struct SecurityPolicy: Sendable {
    struct Root: Sendable, Equatable {
        var path: String
        var writable: Bool
    }

    struct Commands: Sendable {
        /// Program names looked up on `searchPath`, or absolute paths; `*` allows any program not denied.
        var allow: [String]
        /// Names or absolute paths that are never run, even when allowed.
        var deny: [String]
        /// Whether `shell: true` (and `sh -c` / `bash -c`) may be used; every command in the script is still checked.
        var shell: Bool
        var shellPath: String
        /// The only PATH commands are looked up on and run with; callers cannot change it.
        var searchPath: String
        /// Fixed variables every command gets.
        var environment: [String: String]
    }

    struct Limits: Sendable {
        var timeout: Duration
        var maxTimeout: Duration
        var cpuTime: Duration?
        var memory: Int64?
        var processes: Int?
        var output: Int
        var fileSize: Int64?
        var openFiles: Int?
        var cpus: Double?
        var sessionLifetime: Duration
        var sessions: Int
        var sessionOutput: Int
    }

    struct Files: Sendable {
        var maxRead: Int
        var maxWrite: Int
        /// Path components file tools refuse to touch anywhere under a root (e.g. `.switchboard`).
        var protected: [String]
    }

    enum LandlockMode: String, Sendable {
        /// Commands are refused where Landlock is unavailable.
        case required
        /// Commands run without Landlock where it is unavailable; `/ready` and every result say so.
        case bestEffort = "best_effort"
        case off
    }

    struct Sandbox: Sendable {
        var landlock: LandlockMode
        /// Paths commands may read and execute (globs allowed); missing ones are skipped.
        var readOnly: [String]
        /// Paths commands may also write besides the writable roots.
        var readWrite: [String]
        /// Whether commands may open TCP connections and listen (Landlock ABI 4+ enforces `false`).
        var network: Bool
    }

    var roots: [Root]
    var commands: Commands
    var limits: Limits
    var files: Files
    var sandbox: Sandbox
    /// `defaults` or the policy file's path.
    var source: String

    // MARK: Defaults

    /// Common developer commands allowed out of the box (looked up on the policy PATH).
    static let defaultAllow = [
        "awk", "base64", "basename", "cat", "cmp", "comm", "cp", "cut", "date", "df", "diff", "dirname", "du", "echo", "env",
        "expr", "false", "file", "find", "gawk", "git", "grep", "egrep", "fgrep", "gzip", "gunzip", "head", "id", "jq", "ln",
        "ls", "make", "md5sum", "mkdir", "mktemp", "mv", "nice", "nl", "nohup", "od", "paste", "patch", "printf", "pwd",
        "python3", "readlink", "realpath", "rg", "rm", "rmdir", "sed", "seq", "sha1sum", "sha256sum", "sleep", "sort", "split",
        "stat", "stdbuf", "tail", "tar", "tee", "test", "timeout", "touch", "tr", "true", "uname", "uniq", "unzip", "wc",
        "which", "whoami", "xargs", "xz", "zip", "gcc", "cc", "g++", "clang", "swift", "swiftc", "node", "npm", "npx",
        "perl", "go", "cargo", "rustc", "curl",
    ]

    /// Never run, even if an administrator allows `*`.
    static let defaultDeny = [
        "sudo", "su", "doas", "pkexec", "passwd", "chpasswd", "useradd", "userdel", "usermod", "groupadd", "groupdel",
        "visudo", "mount", "umount", "mkfs", "mke2fs", "mkfs.ext4", "mkfs.xfs", "mkswap", "swapon", "swapoff", "fdisk",
        "parted", "dd", "shutdown", "reboot", "halt", "poweroff", "init", "telinit", "systemctl", "service", "iptables",
        "ip6tables", "nft", "insmod", "rmmod", "modprobe", "chroot", "nsenter", "unshare", "setcap", "capsh", "crontab",
        "at", "kexec", "sysctl",
    ]

    /// Read-only system paths a command needs to start and work: libraries, toolchains, name service
    /// and TLS configuration. Not `/etc` as a whole (it holds `/etc/shadow`), not `/home` or `/root`.
    static let defaultReadOnly = [
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
        "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/ssl", "/etc/ca-certificates",
        "/etc/ca-certificates.conf", "/etc/pki", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts",
        "/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/localtime",
        "/etc/timezone", "/etc/os-release", "/etc/lsb-release", "/etc/debian_version", "/etc/mime.types", "/etc/magic",
        "/etc/gitconfig", "/etc/inputrc", "/etc/terminfo", "/etc/locale.alias", "/etc/python3*", "/etc/perl",
        "/run/systemd/resolve", "/proc", "/sys/devices/system/cpu", "/dev/random", "/dev/urandom",
    ]

    /// Device files commands may write.
    static let defaultReadWrite = ["/dev/null", "/dev/zero", "/dev/full"]

    /// The policy in force when no file is given: one writable root, the default allow and deny lists,
    /// no shell, Landlock wherever the kernel has it.
    static func defaults(workspace: String) -> SecurityPolicy {
        SecurityPolicy(
            roots: [Root(path: workspace, writable: true)],
            commands: Commands(
                allow: defaultAllow, deny: defaultDeny, shell: false, shellPath: "/bin/sh",
                searchPath: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", environment: ["LANG": "C.UTF-8"]
            ),
            limits: Limits(
                timeout: .seconds(30), maxTimeout: .seconds(600), cpuTime: .seconds(300), memory: 1 << 30, processes: 128,
                output: 1 << 20, fileSize: 1 << 30, openFiles: 1024, cpus: nil, sessionLifetime: .seconds(3600), sessions: 16,
                sessionOutput: 8 << 20
            ),
            files: Files(maxRead: 16 << 20, maxWrite: 16 << 20, protected: [".switchboard"]),
            sandbox: Sandbox(landlock: .bestEffort, readOnly: defaultReadOnly, readWrite: defaultReadWrite, network: true),
            source: "defaults"
        )
    }

    // MARK: Parsing

    /// Reads a policy file's JSON. Keys left out keep their defaults; unknown keys are errors naming them.
    static func parse(_ document: JSONValue, workspace: String, source: String) throws(PolicyError) -> SecurityPolicy {
        let violations = schema.validate(document, at: "policy")
        if let first = violations.first {
            throw PolicyError("\(source): \(first)" + (violations.count > 1 ? " (and \(violations.count - 1) more)" : ""))
        }
        var policy = defaults(workspace: workspace)
        policy.source = source
        if let roots = document["roots"]?.arrayValue {
            policy.roots = roots.map { entry in
                if let path = entry.stringValue { return Root(path: path, writable: true) }
                return Root(path: entry["path"]?.stringValue ?? "", writable: entry["write"]?.boolValue ?? true)
            }
        }
        if let commands = document["commands"] {
            if let allow = commands["allow"]?.arrayValue { policy.commands.allow = allow.compactMap(\.stringValue) }
            if let extra = commands["allow_extra"]?.arrayValue { policy.commands.allow += extra.compactMap(\.stringValue) }
            if let deny = commands["deny"]?.arrayValue { policy.commands.deny = deny.compactMap(\.stringValue) }
            if let extra = commands["deny_extra"]?.arrayValue { policy.commands.deny += extra.compactMap(\.stringValue) }
            if let shell = commands["shell"]?.boolValue { policy.commands.shell = shell }
            if let path = commands["shell_path"]?.stringValue { policy.commands.shellPath = path }
            if let path = commands["path"]?.stringValue { policy.commands.searchPath = path }
            if let environment = commands["environment"]?.objectValue {
                for (name, value) in environment { policy.commands.environment[name] = value.stringValue ?? "" }
            }
        }
        if let limits = document["limits"] {
            func duration(_ key: String) throws(PolicyError) -> Duration? {
                guard let value = limits[key] else { return nil }
                if let seconds = value.doubleValue { return .milliseconds(Int64(seconds * 1000)) }
                guard let text = value.stringValue, let parsed = Units.parseDuration(text), parsed > .zero else {
                    throw PolicyError("\(source): policy.limits.\(key): expected a duration such as 30s or 10m")
                }
                return parsed
            }
            func size(_ key: String) throws(PolicyError) -> Int64? {
                guard let value = limits[key] else { return nil }
                if let bytes = value.intValue, bytes > 0 { return bytes }
                guard let text = value.stringValue, let parsed = Units.parseByteSize(text), parsed > 0 else {
                    throw PolicyError("\(source): policy.limits.\(key): expected a size such as 512MiB or 1048576")
                }
                return parsed
            }
            if let value = try duration("timeout") { policy.limits.timeout = value }
            if let value = try duration("max_timeout") { policy.limits.maxTimeout = value }
            if let value = try duration("cpu_time") { policy.limits.cpuTime = value }
            if let value = try size("memory") { policy.limits.memory = value }
            if let value = limits["processes"]?.intValue { policy.limits.processes = Int(value) }
            if let value = try size("output") { policy.limits.output = Int(value) }
            if let value = try size("file_size") { policy.limits.fileSize = value }
            if let value = limits["open_files"]?.intValue { policy.limits.openFiles = Int(value) }
            if let value = limits["cpus"]?.doubleValue { policy.limits.cpus = value }
            if let value = try duration("session_lifetime") { policy.limits.sessionLifetime = value }
            if let value = limits["sessions"]?.intValue { policy.limits.sessions = Int(value) }
            if let value = try size("session_output") { policy.limits.sessionOutput = Int(value) }
            if policy.limits.timeout > policy.limits.maxTimeout {
                throw PolicyError("\(source): policy.limits.timeout (\(policy.limits.timeout)) exceeds policy.limits.max_timeout (\(policy.limits.maxTimeout))")
            }
        }
        if let files = document["files"] {
            func size(_ key: String) throws(PolicyError) -> Int? {
                guard let value = files[key] else { return nil }
                if let bytes = value.intValue, bytes > 0 { return Int(bytes) }
                guard let text = value.stringValue, let parsed = Units.parseByteSize(text), parsed > 0 else {
                    throw PolicyError("\(source): policy.files.\(key): expected a size such as 16MiB")
                }
                return Int(parsed)
            }
            if let value = try size("max_read") { policy.files.maxRead = value }
            if let value = try size("max_write") { policy.files.maxWrite = value }
            if let value = files["protected"]?.arrayValue { policy.files.protected = value.compactMap(\.stringValue) }
        }
        if let sandbox = document["sandbox"] {
            if let mode = sandbox["landlock"]?.stringValue, let parsed = LandlockMode(rawValue: mode) { policy.sandbox.landlock = parsed }
            if let value = sandbox["read_only"]?.arrayValue { policy.sandbox.readOnly = value.compactMap(\.stringValue) }
            if let value = sandbox["read_only_extra"]?.arrayValue { policy.sandbox.readOnly += value.compactMap(\.stringValue) }
            if let value = sandbox["read_write"]?.arrayValue { policy.sandbox.readWrite = value.compactMap(\.stringValue) }
            if let value = sandbox["read_write_extra"]?.arrayValue { policy.sandbox.readWrite += value.compactMap(\.stringValue) }
            if let value = sandbox["network"]?.boolValue { policy.sandbox.network = value }
        }
        return policy
    }

    /// Reads and parses a policy file.
    static func load(file: String, workspace: String) throws(PolicyError) -> SecurityPolicy {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw PolicyError("cannot read policy file \(file): \(String(cString: strerror(errno)))")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse([UInt8](data))
        } catch {
            throw PolicyError("\(file): \(error)")
        }
        return try parse(document, workspace: workspace, source: file)
    }

    // MARK: Schema

    private static let duration: JSONValue = ["anyOf": [["type": "string", "minLength": 1], ["type": "number", "exclusiveMinimum": 0]]]
    private static let size: JSONValue = ["anyOf": [["type": "string", "minLength": 1], ["type": "integer", "minimum": 1]]]
    private static let strings: JSONValue = ["type": "array", "items": ["type": "string", "minLength": 1]]

    /// The policy file's JSON Schema (also printed in docs/operations.md).
    static let schemaDocument: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "properties": [
            "roots": [
                "type": "array", "minItems": 1,
                "items": [
                    "anyOf": [
                        ["type": "string", "minLength": 1],
                        [
                            "type": "object", "additionalProperties": false, "required": ["path"],
                            "properties": ["path": ["type": "string", "minLength": 1], "write": ["type": "boolean"]],
                        ],
                    ]
                ],
            ],
            "commands": [
                "type": "object", "additionalProperties": false,
                "properties": [
                    "allow": strings, "allow_extra": strings, "deny": strings, "deny_extra": strings, "shell": ["type": "boolean"],
                    "shell_path": ["type": "string", "pattern": "^/"], "path": ["type": "string", "minLength": 1],
                    "environment": ["type": "object", "additionalProperties": ["type": "string"]],
                ],
            ],
            "limits": [
                "type": "object", "additionalProperties": false,
                "properties": [
                    "timeout": duration, "max_timeout": duration, "cpu_time": duration, "memory": size,
                    "processes": ["type": "integer", "minimum": 1, "maximum": 100_000], "output": size, "file_size": size,
                    "open_files": ["type": "integer", "minimum": 16, "maximum": 1_048_576],
                    "cpus": ["type": "number", "exclusiveMinimum": 0, "maximum": 1024], "session_lifetime": duration,
                    "sessions": ["type": "integer", "minimum": 0, "maximum": 10_000], "session_output": size,
                ],
            ],
            "files": [
                "type": "object", "additionalProperties": false,
                "properties": ["max_read": size, "max_write": size, "protected": strings],
            ],
            "sandbox": [
                "type": "object", "additionalProperties": false,
                "properties": [
                    "landlock": ["enum": ["required", "best_effort", "off"]], "read_only": strings, "read_only_extra": strings,
                    "read_write": strings, "read_write_extra": strings, "network": ["type": "boolean"],
                ],
            ],
        ],
    ]

    private static let schema: JSONSchema = {
        do {
            return try JSONSchema(schemaDocument)
        } catch {
            preconditionFailure("policy schema: \(error)")
        }
    }()
}
