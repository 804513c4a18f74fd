import CDispatch
import Foundation

/// The command rules of a policy, compiled: allow and deny lists matched on the resolved executable of
/// every command, including inside shell scripts and behind wrappers (`env`, `nice`, `timeout`,
/// `xargs`, `find -exec`, `sh -c`, …). This is a guard rail that stops the obvious and the clever-but-
/// known; the boundary is the OS confinement every command runs under (Landlock, limits, cgroups).
struct CommandPolicy: Sendable {
    let allowAll: Bool
    /// Allowed name → the real path of that name on the policy PATH.
    let allowedNames: [String: String]
    /// Allowed absolute entries, as real paths.
    let allowedPaths: Set<String>
    let deniedNames: Set<String>
    let deniedPaths: Set<String>
    let searchPath: [String]
    let shellAllowed: Bool
    let shellPath: String

    static let maxWrapperDepth = 8

    init(_ rules: SecurityPolicy.Commands) {
        let directories = rules.searchPath.split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        searchPath = directories
        shellAllowed = rules.shell
        shellPath = rules.shellPath
        allowAll = rules.allow.contains("*")
        var names: [String: String] = [:]
        var paths: Set<String> = []
        for entry in rules.allow where entry != "*" {
            if entry.hasPrefix("/") {
                if let real = Self.realPath(entry) { paths.insert(real) }
            } else if let found = Self.lookup(entry, in: directories), let real = Self.realPath(found) {
                names[entry] = real
            }
        }
        allowedNames = names
        allowedPaths = paths
        var deniedNames: Set<String> = []
        var deniedPaths: Set<String> = []
        for entry in rules.deny {
            if entry.hasPrefix("/") {
                deniedPaths.insert(entry)
                if let real = Self.realPath(entry) { deniedPaths.insert(real) }
            } else {
                deniedNames.insert(entry)
                if let found = Self.lookup(entry, in: directories), let real = Self.realPath(found) { deniedPaths.insert(real) }
            }
        }
        self.deniedNames = deniedNames
        self.deniedPaths = deniedPaths
    }

    // MARK: Checking

    /// Checks a command given as argv (no shell) and returns the executable to run.
    func check(argv: [String], cwd: String) throws(PolicyDenial) -> String {
        try check(words: argv.map { CommandWord($0) }, cwd: cwd, inShell: false, depth: 0, directoryChanges: false)
    }

    /// Checks every command of a shell script.
    func check(script: String, cwd: String, depth: Int = 0) throws(PolicyDenial) {
        guard shellAllowed else {
            throw PolicyDenial("command.shell_disabled", "the policy does not allow shell scripts (commands.shell is false)")
        }
        let parsed: (commands: [ShellCommand], constructs: [String])
        do {
            parsed = try ShellParser.parse(script)
        } catch {
            throw PolicyDenial("command.unverifiable", "the shell script uses \(error.message), which cannot be verified before it runs")
        }
        let changesDirectory = parsed.commands.contains { ["cd", "pushd", "popd"].contains($0.words.first?.text ?? "") }
        for command in parsed.commands {
            for (name, _) in command.assignments where Self.isDeniedEnvironment(name) {
                throw PolicyDenial("command.env_denied", "the script sets \(name), which could change what runs")
            }
            guard !command.words.isEmpty else { continue }
            _ = try check(words: command.words, cwd: cwd, inShell: true, depth: depth, directoryChanges: changesDirectory)
        }
    }

    /// Shell builtins that run no program and need no check beyond their arguments.
    static let harmlessBuiltins: Set<String> = [
        "cd", "pushd", "popd", "dirs", "echo", "printf", "pwd", "true", "false", "test", "[", "[[", "]]", "unset", "set", "shift",
        "read", "exit", "return", "wait", "jobs", "umask", "type", "ulimit", ":", "getopts", "times", "let", "shopt", "break",
        "continue", "disown", "unalias", "hash",
    ]
    /// Builtins that declare variables: their `NAME=value` arguments are checked like assignments.
    static let declaringBuiltins: Set<String> = ["export", "local", "declare", "typeset", "readonly"]
    /// Builtins that run code the policy cannot see.
    static let opaqueBuiltins: Set<String> = [
        "eval", "source", ".", "trap", "enable", "fc", "alias", "bind", "complete", "compgen", "mapfile", "readarray", "coproc",
    ]
    static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "busybox"]

    private func check(words: [CommandWord], cwd: String, inShell: Bool, depth: Int, directoryChanges: Bool) throws(PolicyDenial) -> String {
        guard depth <= Self.maxWrapperDepth else {
            throw PolicyDenial("command.unverifiable", "commands are nested more than \(Self.maxWrapperDepth) wrappers deep")
        }
        guard let first = words.first else { throw PolicyDenial("command.invalid", "the command is empty") }
        guard first.isLiteral else {
            throw PolicyDenial("command.unverifiable", "the command name `\(first.text)` is only known when the shell runs it (expansion, glob or ~)")
        }
        let name = first.text
        guard !name.isEmpty else { throw PolicyDenial("command.invalid", "the command name is empty") }
        if inShell {
            if let handled = try checkBuiltin(name: name, words: words, cwd: cwd, depth: depth, directoryChanges: directoryChanges) {
                return handled
            }
        }
        if name.contains("/") && !name.hasPrefix("/") && directoryChanges {
            throw PolicyDenial("command.unverifiable", "`\(name)` is a relative path and the script changes directory before running it")
        }
        guard let located = name.contains("/") ? (name.hasPrefix("/") ? name : cwd + "/" + name) : Self.lookup(name, in: searchPath),
            let real = Self.realPath(located), Self.isExecutableFile(real)
        else {
            throw PolicyDenial("command.not_found", "`\(name)` is not an executable file on the policy PATH (\(searchPath.joined(separator: ":")))")
        }
        let invoked = Self.basename(name)
        let realName = Self.basename(real)
        if deniedNames.contains(invoked) || deniedNames.contains(realName) || deniedPaths.contains(real) {
            throw PolicyDenial("command.denied", "`\(name)` (\(real)) is on the policy's deny list")
        }
        guard allowAll || allowedNames[invoked] == real || allowedPaths.contains(real) else {
            throw PolicyDenial("command.not_allowed", "`\(name)` (\(real)) is not on the policy's allow list")
        }
        if Self.shells.contains(invoked) || Self.shells.contains(realName) {
            try checkShellInvocation(words, cwd: cwd, depth: depth)
        } else if let inner = try Self.wrappedCommand(program: realName, words: words) {
            for command in inner {
                _ = try check(words: command, cwd: cwd, inShell: false, depth: depth + 1, directoryChanges: directoryChanges)
            }
        }
        return real
    }

    /// nil when `name` is not a builtin (it is then looked up as a program).
    private func checkBuiltin(name: String, words: [CommandWord], cwd: String, depth: Int, directoryChanges: Bool) throws(PolicyDenial) -> String? {
        if Self.opaqueBuiltins.contains(name) {
            throw PolicyDenial("command.unverifiable", "the builtin `\(name)` runs code that cannot be verified before it runs")
        }
        if Self.declaringBuiltins.contains(name) {
            for word in words.dropFirst() {
                let variable = String(word.text.prefix(while: { $0 != "=" && $0 != "+" }))
                if Self.isDeniedEnvironment(variable) {
                    throw PolicyDenial("command.env_denied", "`\(name)` sets \(variable), which could change what runs")
                }
            }
            return "builtin:\(name)"
        }
        if name == "hash", words.dropFirst().contains(where: { $0.text.hasPrefix("-p") }) {
            throw PolicyDenial("command.unverifiable", "`hash -p` changes which program a name runs")
        }
        if Self.harmlessBuiltins.contains(name) { return "builtin:\(name)" }
        switch name {
        case "exec", "command", "builtin":
            var rest = Array(words.dropFirst())
            while let option = rest.first, option.isLiteral, option.text.hasPrefix("-"), option.text != "-" {
                if name == "command" && (option.text == "-v" || option.text == "-V") { return "builtin:command" }
                if name == "exec" && option.text == "-a" { rest.removeFirst() }
                rest.removeFirst()
            }
            guard !rest.isEmpty else { return "builtin:\(name)" }
            if name == "builtin" {
                guard rest[0].isLiteral, Self.harmlessBuiltins.contains(rest[0].text) || Self.declaringBuiltins.contains(rest[0].text) else {
                    throw PolicyDenial("command.unverifiable", "`builtin \(rest[0].text)` is not a builtin the policy knows to be harmless")
                }
            }
            return try check(words: rest, cwd: cwd, inShell: true, depth: depth + 1, directoryChanges: directoryChanges)
        default:
            return nil
        }
    }

    /// `sh -c SCRIPT`: the script is checked like any other; a shell reading a file or stdin is refused.
    private func checkShellInvocation(_ words: [CommandWord], cwd: String, depth: Int) throws(PolicyDenial) {
        guard shellAllowed else {
            throw PolicyDenial("command.shell_disabled", "`\(words[0].text)` is a shell and the policy does not allow shells (commands.shell is false)")
        }
        var index = 1
        while index < words.count {
            let word = words[index]
            guard word.isLiteral else {
                throw PolicyDenial("command.unverifiable", "the shell option `\(word.text)` is only known at run time")
            }
            let text = word.text
            if ["--norc", "--noprofile", "--posix"].contains(text) {
                index += 1
                continue
            }
            // Single-letter options, possibly combined (`-ec`, `-euo pipefail`): `o` takes a name, `c` means the
            // script is the next word. Anything else (-i, -l, -s, --rcfile, a script file) cannot be verified.
            let letters = Set(text.dropFirst())
            guard text.count > 1, text.first == "-" || text.first == "+", !text.hasPrefix("--"), letters.isSubset(of: Set("abcefhkmnopuvxBCEHPT")) else {
                throw PolicyDenial(
                    "command.unverifiable",
                    "`\(words[0].text) \(text)` reads a script file, stdin or start-up files, which cannot be verified before it runs"
                )
            }
            let consumed = 1 + (letters.contains("o") ? 1 : 0)
            if letters.contains("c") {
                guard index + consumed < words.count else { throw PolicyDenial("command.invalid", "`\(words[0].text) -c` without a script") }
                let script = words[index + consumed]
                guard script.isLiteral else {
                    throw PolicyDenial("command.unverifiable", "the script given to `\(words[0].text) -c` is only known at run time")
                }
                try check(script: script.text, cwd: cwd, depth: depth + 1)
                return
            }
            index += consumed
        }
        throw PolicyDenial("command.unverifiable", "`\(words[0].text)` without -c reads commands from stdin, which cannot be verified")
    }

    // MARK: Wrappers

    /// The commands a wrapper program will run, or nil when `program` is not a wrapper.
    static func wrappedCommand(program: String, words: [CommandWord]) throws(PolicyDenial) -> [[CommandWord]]? {
        let arguments = Array(words.dropFirst())
        func rest(after skipping: (inout Int) throws(PolicyDenial) -> Bool) throws(PolicyDenial) -> [[CommandWord]] {
            var index = 0
            while index < arguments.count {
                guard arguments[index].isLiteral else {
                    throw PolicyDenial("command.unverifiable", "`\(program)` gets the argument `\(arguments[index].text)`, which is only known at run time")
                }
                if try !skipping(&index) { break }
            }
            return index < arguments.count ? [Array(arguments[index...])] : []
        }
        switch program {
        case "env":
            return try rest { (index: inout Int) throws(PolicyDenial) -> Bool in
                let text = arguments[index].text
                if text == "-S" || text.hasPrefix("--split-string") || (text.hasPrefix("-") && !text.hasPrefix("--") && text.contains("S")) {
                    throw PolicyDenial("command.unverifiable", "`env -S` splits a string into a command that cannot be verified")
                }
                if text == "--" {
                    index += 1
                    return false
                }
                if text.hasPrefix("-") {
                    index += ["-u", "-C", "--unset", "--chdir"].contains(text) ? 2 : 1
                    return true
                }
                if let equals = text.firstIndex(of: "=") {
                    let name = String(text[..<equals])
                    if isDeniedEnvironment(name) { throw PolicyDenial("command.env_denied", "`env` sets \(name), which could change what runs") }
                    index += 1
                    return true
                }
                return false
            }
        case "nice", "nohup", "stdbuf", "setsid", "time", "ionice":
            return try rest { (index: inout Int) throws(PolicyDenial) -> Bool in
                let text = arguments[index].text
                if text == "--" {
                    index += 1
                    return false
                }
                guard text.hasPrefix("-") else { return false }
                let withValue: Set<String> = ["-n", "-i", "-o", "-e", "-f", "-c", "-p", "--adjustment", "--input", "--output", "--error", "--format", "--class", "--classdata", "--cpu-list"]
                index += (withValue.contains(text) && program != "setsid") ? 2 : 1
                return true
            }
        case "timeout":
            var index = 0
            while index < arguments.count, arguments[index].text.hasPrefix("-"), arguments[index].text != "-" {
                let text = arguments[index].text
                if text == "--" {
                    index += 1
                    break
                }
                index += ["-s", "-k", "--signal", "--kill-after"].contains(text) ? 2 : 1
            }
            index += 1  // the duration
            guard index < arguments.count else { return [] }
            guard arguments[index].isLiteral else {
                throw PolicyDenial("command.unverifiable", "`timeout` runs `\(arguments[index].text)`, which is only known at run time")
            }
            return [Array(arguments[index...])]
        case "xargs":
            let withValue: Set<String> = ["-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file", "--delimiter", "--eof", "--replace", "--max-lines", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"]
            let inner = try rest { (index: inout Int) throws(PolicyDenial) -> Bool in
                let text = arguments[index].text
                if text == "--" {
                    index += 1
                    return false
                }
                guard text.hasPrefix("-") else { return false }
                index += withValue.contains(text) ? 2 : 1
                return true
            }
            return inner.isEmpty ? [[CommandWord("echo")]] : inner
        case "find":
            var commands: [[CommandWord]] = []
            var index = 0
            while index < arguments.count {
                if ["-exec", "-execdir", "-ok", "-okdir"].contains(arguments[index].text) {
                    let start = index + 1
                    var end = start
                    while end < arguments.count, arguments[end].text != ";", arguments[end].text != "+" { end += 1 }
                    guard start < end else { throw PolicyDenial("command.invalid", "`find \(arguments[index].text)` without a command") }
                    commands.append(Array(arguments[start..<end]))
                    index = end
                }
                index += 1
            }
            return commands
        case "flock", "watch", "strace", "ltrace", "script", "unbuffer", "parallel", "sudo", "doas", "su", "runuser", "chroot",
            "unshare", "nsenter", "ssh", "systemd-run", "firejail", "bwrap", "gdb", "valgrind", "perf", "chrt", "taskset":
            throw PolicyDenial("command.unverifiable", "`\(program)` runs commands in a way the policy does not verify")
        default:
            return nil
        }
    }

    // MARK: Environment

    private static let deniedEnvironmentNames: Set<String> = [
        "PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "CDPATH", "GLOBIGNORE", "GCONV_PATH",
        "HOSTALIASES", "LOCPATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "MALLOC_TRACE", "GIT_SSH", "GIT_SSH_COMMAND",
        "GIT_EXEC_PATH", "GIT_PAGER", "PAGER", "MANPAGER", "EDITOR", "VISUAL", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR",
        "GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_PROXY_COMMAND", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
        "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_TEMPLATE_DIR", "LESSOPEN", "LESSCLOSE", "BROWSER", "PYTHONSTARTUP",
        "PERL5OPT", "PERL5DB", "PERLLIB", "PERL5LIB", "NODE_OPTIONS", "RUBYOPT", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
        "SWITCHBOARD_SERVICE_SECRET",
    ]

    /// Variables a caller may not set because they change which program runs or inject code into an allowed one.
    static func isDeniedEnvironment(_ name: String) -> Bool {
        deniedEnvironmentNames.contains(name) || name.hasPrefix("LD_") || name.hasPrefix("BASH_FUNC_") || name.hasPrefix("DYLD_")
            || name.hasPrefix("GIT_CONFIG_KEY_") || name.hasPrefix("GIT_CONFIG_VALUE_")
    }

    // MARK: Lookup

    /// The first executable `name` on `directories`.
    static func lookup(_ name: String, in directories: [String]) -> String? {
        for directory in directories {
            let candidate = directory + "/" + name
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// Where `name` resolves on this policy's PATH (for `check_command_exists`).
    func locate(_ name: String, cwd: String) -> String? {
        let located = name.contains("/") ? (name.hasPrefix("/") ? name : cwd + "/" + name) : Self.lookup(name, in: searchPath)
        guard let located, let real = Self.realPath(located), Self.isExecutableFile(real) else { return nil }
        return real
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    static func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
