import Foundation
import Synchronization
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import ToolService

/// The attack corpus: every trick from the research note (DesktopCommander bypass issues #217 #218
/// #411 #420–423 #497 #374, filesystem CVE-2025-53109/53110, prefix escapes, cli-mcp-server's bare
/// `..`) and more, each a test. A case passes when the call is refused with the named rule, or — for
/// what only the OS can stop — when the command runs and cannot reach outside its roots.
@Suite(.serialized)
struct AttackCorpusTests {
    /// Shell scripts that must be refused when the policy allows a shell, with the rule expected.
    static let shellInjections: [(script: String, rule: String)] = [
        ("echo ok; dd if=/dev/zero of=x count=1", "command.denied"),
        ("echo ok && dd if=/dev/zero of=x count=1", "command.denied"),
        ("false || dd if=/dev/zero of=x count=1", "command.denied"),
        ("echo ok | dd of=x", "command.denied"),
        ("echo ok |& dd of=x", "command.denied"),
        ("echo $(dd if=/dev/zero count=1)", "command.denied"),
        ("echo \"$(dd if=/dev/zero count=1)\"", "command.denied"),
        ("echo `dd if=/dev/zero count=1`", "command.denied"),
        ("echo \"`dd if=/dev/zero count=1`\"", "command.denied"),
        ("cat <(dd if=/dev/zero count=1)", "command.denied"),
        ("echo x > >(dd of=y)", "command.denied"),
        ("cat <<< \"$(dd if=/dev/zero count=1)\"", "command.denied"),
        ("cat <<EOF\n$(dd if=/dev/zero count=1)\nEOF\n", "command.denied"),
        ("cat <<-EOF\n\t`dd if=/dev/zero count=1`\n\tEOF\n", "command.denied"),
        ("echo ok\ndd if=/dev/zero of=x count=1", "command.denied"),
        ("echo ok\r\ndd if=/dev/zero of=x count=1", "command.denied"),
        ("(dd if=/dev/zero of=x count=1)", "command.denied"),
        ("{ dd if=/dev/zero of=x count=1; }", "command.denied"),
        ("if true; then dd if=/dev/zero of=x count=1; fi", "command.denied"),
        ("while false; do dd; done", "command.denied"),
        ("for f in a; do dd of=$f; done", "command.denied"),
        ("'d'd if=/dev/zero of=x count=1", "command.denied"),
        ("\"dd\" if=/dev/zero of=x count=1", "command.denied"),
        ("d\\d if=/dev/zero of=x count=1", "command.denied"),
        ("d''d if=/dev/zero of=x count=1", "command.denied"),
        ("$'\\x64\\x64' if=/dev/zero of=x count=1", "command.denied"),
        ("$'\\144\\144' if=/dev/zero of=x count=1", "command.denied"),
        ("/usr/bin/dd if=/dev/zero of=x count=1", "command.denied"),
        ("/bin/dd if=/dev/zero of=x count=1", "command.denied"),
        ("/usr/bin/../bin/dd if=/dev/zero of=x count=1", "command.denied"),
        ("../../../../../../usr/bin/dd if=/dev/zero of=x count=1", "command.denied"),
        ("d? if=/dev/zero of=x count=1", "command.unverifiable"),
        ("/usr/bin/d* if=/dev/zero of=x count=1", "command.unverifiable"),
        ("[d]d if=/dev/zero of=x count=1", "command.unverifiable"),
        ("{dd,true} if=/dev/zero", "command.unverifiable"),
        ("~/dd", "command.unverifiable"),
        ("$CMD", "command.unverifiable"),
        ("${CMD}", "command.unverifiable"),
        ("\"$CMD\" -la", "command.unverifiable"),
        ("x=dd; $x if=/dev/zero", "command.unverifiable"),
        ("cat${IFS}/etc/passwd", "command.unverifiable"),
        ("$(echo dd) if=/dev/zero", "command.unverifiable"),
        ("`echo dd` if=/dev/zero", "command.unverifiable"),
        ("eval dd", "command.unverifiable"),
        ("eval 'echo hi'", "command.unverifiable"),
        ("source ./script", "command.unverifiable"),
        (". ./script", "command.unverifiable"),
        ("trap 'dd' EXIT", "command.unverifiable"),
        ("alias ls=dd; ls", "command.unverifiable"),
        ("f() { dd; }; f", "command.unverifiable"),
        ("function f { dd; }", "command.unverifiable"),
        ("case x in x) dd;; esac", "command.unverifiable"),
        ("coproc dd", "command.unverifiable"),
        ("((x=1))", "command.unverifiable"),
        ("hash -p /usr/bin/dd ls; ls", "command.unverifiable"),
        ("command dd if=/dev/zero", "command.denied"),
        ("exec dd if=/dev/zero", "command.denied"),
        ("builtin dd", "command.unverifiable"),
        ("time dd if=/dev/zero count=1", "command.denied"),
        ("! dd if=/dev/zero count=1", "command.denied"),
        ("echo $(( $(dd if=/dev/zero count=1) + 1 ))", "command.denied"),
        ("echo ${X:-$(dd if=/dev/zero count=1)}", "command.denied"),
        ("echo ok & dd if=/dev/zero count=1 &", "command.denied"),
        ("PATH=/tmp ls", "command.env_denied"),
        ("PATH=/tmp", "command.env_denied"),
        ("export PATH=/tmp; ls", "command.env_denied"),
        ("declare -x LD_PRELOAD=/tmp/x.so; ls", "command.env_denied"),
        ("LD_PRELOAD=/tmp/x.so ls", "command.env_denied"),
        ("BASH_ENV=/tmp/x bash -c ls", "command.env_denied"),
        ("IFS=/ ls", "command.env_denied"),
        ("env dd if=/dev/zero", "command.denied"),
        ("env -i dd if=/dev/zero", "command.denied"),
        ("env A=1 B=2 dd if=/dev/zero", "command.denied"),
        ("env PATH=/tmp ls", "command.env_denied"),
        ("env -S 'dd if=/dev/zero'", "command.unverifiable"),
        ("nice dd if=/dev/zero", "command.denied"),
        ("nice -n 19 dd if=/dev/zero", "command.denied"),
        ("timeout 5 dd if=/dev/zero", "command.denied"),
        ("timeout -s KILL 5 dd if=/dev/zero", "command.denied"),
        ("nohup dd if=/dev/zero", "command.denied"),
        ("stdbuf -o0 dd if=/dev/zero", "command.denied"),
        ("nice env timeout 5 nohup dd", "command.denied"),
        ("echo x | xargs dd", "command.denied"),
        ("echo x | xargs -I{} dd of={}", "command.denied"),
        ("echo x | xargs -n 1 -P 2 dd", "command.denied"),
        ("find . -exec dd if={} \\;", "command.denied"),
        ("find . -execdir dd if={} +", "command.denied"),
        ("find . -name x -ok dd \\;", "command.denied"),
        ("sh -c 'dd if=/dev/zero count=1'", "command.denied"),
        ("bash -c \"dd if=/dev/zero count=1\"", "command.denied"),
        ("sh -ec 'echo ok; dd'", "command.denied"),
        ("sh -c \"sh -c 'bash -c dd'\"", "command.denied"),
        ("sh -c \"$X\"", "command.unverifiable"),
        ("sh ./script.sh", "command.unverifiable"),
        ("bash -i", "command.unverifiable"),
        ("bash --rcfile x", "command.unverifiable"),
        ("echo ls | sh", "command.unverifiable"),
        ("cd /tmp && ./dd", "command.unverifiable"),
        ("echo \"unterminated", "command.unverifiable"),
        ("echo 'unterminated", "command.unverifiable"),
        ("echo $(echo", "command.unverifiable"),
        ("echo )", "command.unverifiable"),
        ("cat <<EOF\nno end", "command.unverifiable"),
        ("echo ;; dd", "command.unverifiable"),
        ("a=(dd x); ${a[@]}", "command.unverifiable"),
        ("su -c id", "command.denied"),
        ("mount", "command.denied"),
        ("chmod 777 .", "command.not_allowed"),
        ("hostname", "command.not_allowed"),
        ("strace ls", "command.not_allowed"),
        ("flock /tmp/x dd", "command.not_allowed"),
        ("nosuchprogram-xyz", "command.not_found"),
        (String(repeating: "$(", count: 30) + "ls" + String(repeating: ")", count: 30), "command.unverifiable"),
    ]

    /// Scripts the parser must accept (so the guard rail does not stop ordinary work).
    static let shellAccepted: [(script: String, output: String)] = [
        ("echo hello", "hello"),
        ("echo a | tr a b", "b"),
        ("echo ok # ; dd if=/dev/zero", "ok"),
        ("echo '; dd if=/dev/zero'", "; dd if=/dev/zero"),
        ("echo \"$(echo inner)\"", "inner"),
        ("x=1; echo $x", "1"),
        ("echo $((1 + 2))", "3"),
        ("for f in a b; do echo $f; done", "a\nb"),
        ("if true; then echo yes; else echo no; fi", "yes"),
        ("cat <<EOF\nhere $(echo doc)\nEOF\n", "here doc"),
        ("cat <<'EOF'\n$(dd)\nEOF\n", "$(dd)"),
        ("test -d . && echo dir", "dir"),
        ("[ -d . ] && echo dir", "dir"),
        ("echo x > out.txt && cat out.txt", "x"),
        ("echo err 1>&2; echo out", "out"),
        ("printf '%s\\n' a b | sort -r | head -1", "b"),
        ("(cd . && pwd) > /dev/null; echo sub", "sub"),
        ("env A=1 printenv A 2>/dev/null || env | grep -c A=1", "1"),
    ]

    func shellHarness() throws -> ToolHarness {
        try ToolHarness(policy: ["commands": ["shell": true, "allow_extra": ["sh", "bash", "tr", "printenv"]]])
    }

    @Test func everyShellInjectionIsRefusedWithItsRule() async throws {
        let harness = try shellHarness()
        for (script, rule) in Self.shellInjections {
            let result = await harness.call("execute_command", ["command": .string(script), "shell": true])
            #expect(result.isError, "accepted: \(script)")
            #expect(ToolHarness.rule(result) == rule, "\(script): \(ToolHarness.text(result))")
        }
        #expect(!FileManager.default.fileExists(atPath: harness.root + "/x"), "a refused command ran")
        await harness.close()
    }

    @Test func ordinaryScriptsStillRun() async throws {
        let harness = try shellHarness()
        for (script, output) in Self.shellAccepted {
            let result = await harness.call("execute_command", ["command": .string(script), "shell": true])
            #expect(!result.isError, "\(script): \(ToolHarness.text(result))")
            let stdout = result.structuredContent?["stdout"]?.stringValue ?? ""
            #expect(stdout.trimmingCharacters(in: .whitespacesAndNewlines) == output, "\(script) printed \(stdout)")
        }
        await harness.close()
    }

    /// argv mode and the default policy (no shell).
    static let argvInjections: [(arguments: JSONValue, rule: String)] = [
        (["command": "dd", "args": ["if=/dev/zero", "count=1"]], "command.denied"),
        (["command": "/usr/bin/dd"], "command.denied"),
        (["command": "ls; dd"], "command.shell_disabled"),
        (["command": "ls $(dd)"], "command.shell_disabled"),
        (["command": "ls `dd`"], "command.shell_disabled"),
        (["command": "ls | dd"], "command.shell_disabled"),
        (["command": "ls\ndd"], "command.shell_disabled"),
        (["command": "ls > /etc/x"], "command.shell_disabled"),
        (["command": "echo hi", "shell": true], "command.shell_disabled"),
        (["command": "bash", "args": ["-c", "ls"]], "command.not_allowed"),
        (["command": "sh", "args": ["-c", "ls"]], "command.not_allowed"),
        (["command": "env", "args": ["dd"]], "command.denied"),
        (["command": "env", "args": ["PATH=/tmp", "ls"]], "command.env_denied"),
        (["command": "env", "args": ["bash", "-c", "ls"]], "command.not_allowed"),
        (["command": "nice", "args": ["-n", "5", "dd"]], "command.denied"),
        (["command": "timeout", "args": ["5", "su"]], "command.denied"),
        (["command": "xargs", "args": ["-0", "dd"]], "command.denied"),
        (["command": "find", "args": [".", "-exec", "dd", "{}", ";"]], "command.denied"),
        (["command": "find", "args": [".", "-exec", "bash", "-c", "ls", ";"]], "command.not_allowed"),
        (["command": "ls", "env": ["LD_PRELOAD": "/tmp/x.so"]], "command.env_denied"),
        (["command": "ls", "env": ["PATH": "/tmp"]], "command.env_denied"),
        (["command": "git", "args": ["log"], "env": ["GIT_SSH_COMMAND": "dd"]], "command.env_denied"),
        (["command": "git", "args": ["log"], "env": ["GIT_PAGER": "dd"]], "command.env_denied"),
        (["command": "ls", "env": ["BASH_FUNC_ls%%": "() { dd; }"]], "command.env_denied"),
        (["command": "ls", "env": ["HOME": "/root"]], "command.env_denied"),
        (["command": "ls", "cwd": "/etc"], "path.outside_roots"),
        (["command": "ls", "cwd": "../outside"], "path.outside_roots"),
        (["command": "sleep", "args": ["1"], "timeout_ms": 86_400_000], "limits.timeout"),
    ]

    @Test func everyArgvInjectionIsRefusedWithItsRule() async throws {
        let harness = try ToolHarness()
        for (arguments, rule) in Self.argvInjections {
            let result = await harness.call("execute_command", arguments)
            #expect(result.isError, "accepted: \(arguments.jsonString)")
            #expect(ToolHarness.rule(result) == rule, "\(arguments.jsonString): \(ToolHarness.text(result))")
        }
        await harness.close()
    }

    @Test func programsPlantedInTheWorkspaceAreNotTheAllowedOnes() async throws {
        let harness = try ToolHarness()
        // A copy of an allowed program, a symlink named like an allowed program, a denied program renamed.
        try FileManager.default.copyItem(atPath: "/usr/bin/ls", toPath: harness.root + "/ls")
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/git", withDestinationPath: "/usr/bin/python3")
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/cat", withDestinationPath: "/usr/bin/dd")
        let copy = await harness.call("execute_command", ["command": "./ls"])
        #expect(ToolHarness.rule(copy) == "command.not_allowed")
        let impostor = await harness.call("execute_command", ["command": "./git", "args": ["-c", "print(1)"]])
        #expect(ToolHarness.rule(impostor) == "command.not_allowed")
        let renamed = await harness.call("execute_command", ["command": "./cat"])
        #expect(ToolHarness.rule(renamed) == "command.denied")
        let allowed = await harness.call("execute_command", ["command": "ls", "args": ["-1"]])
        #expect(!allowed.isError)
        #expect(allowed.structuredContent?["stdout"]?.stringValue?.contains("git") == true)
        await harness.close()
    }

    // MARK: Paths

    @Test func pathEscapesAreRefusedWithTheirRule() async throws {
        let harness = try ToolHarness()
        let root = harness.root
        let outside = harness.outside
        let evil = root + "-evil"
        try FileManager.default.createDirectory(atPath: evil, withIntermediateDirectories: true)
        try "evil".write(toFile: evil + "/secret.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: outside + "/secret.txt")
        try FileManager.default.createSymbolicLink(atPath: root + "/rellink", withDestinationPath: "../outside/secret.txt")
        try FileManager.default.createSymbolicLink(atPath: root + "/dirlink", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: root + "/proc", withDestinationPath: "/proc/self/root")
        try FileManager.default.createSymbolicLink(atPath: root + "/inside", withDestinationPath: "sub")
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/.switchboard", withIntermediateDirectories: true)
        let cases: [(tool: String, arguments: JSONValue, rule: String)] = [
            ("read_file", ["path": "../outside/secret.txt"], "path.outside_roots"),
            ("read_file", ["path": "sub/../../outside/secret.txt"], "path.outside_roots"),
            ("read_file", ["path": ".."], "path.outside_roots"),
            ("read_file", ["path": .string(outside + "/secret.txt")], "path.outside_roots"),
            ("read_file", ["path": .string(root + "/../outside/secret.txt")], "path.outside_roots"),
            ("read_file", ["path": .string(root + "//..//outside/secret.txt")], "path.outside_roots"),
            ("read_file", ["path": .string(evil + "/secret.txt")], "path.outside_roots"),
            ("read_file", ["path": "/etc/passwd"], "path.outside_roots"),
            ("read_file", ["path": "/proc/self/root/etc/passwd"], "path.outside_roots"),
            ("read_file", ["path": "/proc/self/cwd/secret.txt"], "path.outside_roots"),
            ("read_file", ["path": "~/.bashrc"], "path.outside_roots"),
            ("read_file", ["path": "~root/.bashrc"], "path.invalid"),
            ("read_file", ["path": "a\u{0}b"], "path.invalid"),
            ("read_file", ["path": "link"], "path.symlink_escape"),
            ("read_file", ["path": "rellink"], "path.symlink_escape"),
            ("read_file", ["path": "dirlink/secret.txt"], "path.symlink_escape"),
            ("read_file", ["path": "proc/etc/passwd"], "path.symlink_escape"),
            ("read_file", ["path": ".switchboard/service-secret"], "path.protected"),
            ("list_directory", ["path": "dirlink"], "path.symlink_escape"),
            ("list_directory", ["path": "/"], "path.outside_roots"),
            ("search_files", ["path": "dirlink", "query": "secret"], "path.symlink_escape"),
            ("get_file_info", ["path": "dirlink/secret.txt"], "path.symlink_escape"),
            ("write_file", ["path": "link", "content": "pwned"], "path.symlink_escape"),
            ("write_file", ["path": "dirlink/new.txt", "content": "pwned"], "path.symlink_escape"),
            ("write_file", ["path": "dirlink/deep/new.txt", "content": "pwned", "create_parents": true], "path.symlink_escape"),
            ("write_file", ["path": "link", "content": "pwned", "mode": "append"], "path.symlink_escape"),
            ("write_file", ["path": "../outside/new.txt", "content": "pwned"], "path.outside_roots"),
            ("edit_file", ["path": "link", "edits": [["old_text": "top", "new_text": "pwned"]]], "path.symlink_escape"),
            ("create_directory", ["path": "dirlink/made"], "path.symlink_escape"),
            ("move_file", ["source": "sub", "destination": "dirlink/moved"], "path.symlink_escape"),
            ("move_file", ["source": "sub", "destination": "../outside/moved"], "path.outside_roots"),
            ("move_file", ["source": "../outside/secret.txt", "destination": "stolen.txt"], "path.outside_roots"),
            ("batch_file_operations", ["operations": [["tool": "write_file", "arguments": ["path": "ok.txt", "content": "x"]], ["tool": "read_file", "arguments": ["path": "../outside/secret.txt"]]]], "path.outside_roots"),
        ]
        for (tool, arguments, rule) in cases {
            let result = await harness.call(tool, arguments)
            #expect(result.isError, "\(tool) \(arguments.jsonString) was allowed")
            #expect(ToolHarness.rule(result) == rule, "\(tool) \(arguments.jsonString): \(ToolHarness.text(result))")
            #expect(!ToolHarness.text(result).contains(ToolHarness.secret))
        }
        // Nothing was written outside, the secret is intact, the batch ran nothing.
        #expect(try String(contentsOfFile: outside + "/secret.txt", encoding: .utf8) == ToolHarness.secret)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["secret.txt"])
        #expect(!FileManager.default.fileExists(atPath: root + "/ok.txt"))
        let long = await harness.call("read_file", ["path": .string(String(repeating: "a/", count: 2100))])
        #expect(ToolHarness.text(long) == "invalid arguments: arguments.path: must be at most 4096 characters long (maxLength)")
        // A symlink that stays inside the root is followed.
        try "inner".write(toFile: root + "/sub/file.txt", atomically: true, encoding: .utf8)
        let inside = await harness.call("read_file", ["path": "inside/file.txt"])
        #expect(ToolHarness.text(inside) == "inner")
        await harness.close()
    }

    @Test func aSymlinkPlantedWhereANewFileWillBeCreatedIsNotFollowed() async throws {
        let harness = try ToolHarness()
        // Dangling symlinks: absolute and relative ones leading out, and one inside the root.
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/new.txt", withDestinationPath: harness.outside + "/created.txt")
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/rel.txt", withDestinationPath: "../outside/created2.txt")
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/dangling.txt", withDestinationPath: "missing.txt")
        for (path, rule) in [("new.txt", "path.symlink_escape"), ("rel.txt", "path.symlink_escape"), ("dangling.txt", "path.dangling_symlink")] {
            for mode in ["rewrite", "append"] {
                let result = await harness.call("write_file", ["path": .string(path), "content": "pwned", "mode": .string(mode)])
                #expect(result.isError, "\(path) \(mode)")
                if mode == "rewrite" { #expect(ToolHarness.rule(result) == rule, "\(path): \(ToolHarness.text(result))") }
            }
        }
        #expect(!FileManager.default.fileExists(atPath: harness.outside + "/created.txt"))
        #expect(!FileManager.default.fileExists(atPath: harness.outside + "/created2.txt"))
        await harness.close()
    }

    @Test func swappingADirectoryForASymlinkDuringWritesNeverWritesOutside() async throws {
        let harness = try ToolHarness()
        let swap = harness.root + "/swap"
        let real = harness.root + "/real"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/evil", withDestinationPath: harness.outside)
        // Another thread keeps exchanging `swap` between the real directory and the escaping symlink
        // (relative targets: absolute symlinks are refused outright).
        let running = Flag()
        try FileManager.default.createSymbolicLink(atPath: swap, withDestinationPath: "real")
        let root = harness.root
        let swapper = Thread {
            var flip = false
            while running.isSet {
                let link = root + "/tmp-link"
                try? FileManager.default.removeItem(atPath: link)
                try? FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: flip ? "real" : "../outside")
                rename(link, swap)
                flip.toggle()
            }
        }
        swapper.start()
        var written = 0
        for index in 0..<300 {
            let result = await harness.call("write_file", ["path": .string("swap/f\(index).txt"), "content": "x"])
            if !result.isError { written += 1 }
            let read = await harness.call("read_file", ["path": "swap/secret.txt"])
            #expect(!ToolHarness.text(read).contains(ToolHarness.secret))
        }
        running.clear()
        while swapper.isExecuting { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.outside) == ["secret.txt"])
        #expect(written > 0, "no write went through the real directory at all")
        await harness.close()
    }

    // MARK: What only the OS stops

    @Test func allowedInterpretersCannotReachOutsideTheRoots() async throws {
        try #require(Landlock.abi > 0, "this kernel has no Landlock")
        let harness = try ToolHarness()
        let secret = harness.outside + "/secret.txt"
        let attempts: [JSONValue] = [
            ["command": "python3", "args": ["-c", .string("print(open('\(secret)').read())")]],
            ["command": "python3", "args": ["-c", .string("open('\(harness.outside)/pwned', 'w').write('x')")]],
            ["command": "python3", "args": ["-c", "import os; os.system('cat /etc/shadow; cat /etc/hostname')"]],
            ["command": "python3", "args": ["-c", "open('/tmp/switchboard-pwned', 'w').write('x')"]],
            ["command": "perl", "args": ["-e", .string("open(F, '<', '\(secret)') or die \"denied: $!\"; print <F>")]],
            ["command": "awk", "args": [.string("BEGIN { system(\"cat \(secret)\") }")]],
            ["command": "awk", "args": [.string("BEGIN { while ((getline line < \"\(secret)\") > 0) print line }")]],
            ["command": "ln", "args": [.string(secret), "hard"]],
            ["command": "cat", "args": [.string(secret)]],
            ["command": "cp", "args": [.string(secret), "copy.txt"]],
            ["command": "git", "args": ["--no-pager", "diff", "--no-index", .string(secret), "/dev/null"]],
            ["command": "python3", "args": ["-c", .string("print(open('/proc/\(getpid())/environ').read())")]],
        ]
        for attempt in attempts {
            let result = await harness.call("execute_command", attempt)
            let output = (result.structuredContent?["stdout"]?.stringValue ?? "") + (result.structuredContent?["stderr"]?.stringValue ?? "")
            #expect(!output.contains(ToolHarness.secret), "\(attempt.jsonString) read the secret")
            #expect(!output.contains("root:"), "\(attempt.jsonString) read /etc/shadow")
            #expect(ToolHarness.meta(result, "switchboard/isolation")?["landlock"] == "enforced")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.outside) == ["secret.txt"])
        #expect(!FileManager.default.fileExists(atPath: "/tmp/switchboard-pwned"))
        let environ = await harness.call("execute_command", attempts[attempts.count - 1])
        #expect(environ.structuredContent?["stdout"]?.stringValue?.contains("PATH=") == false, "a command read the service's environment")
        #expect(!FileManager.default.fileExists(atPath: harness.root + "/hard"))
        #expect(!FileManager.default.fileExists(atPath: harness.root + "/copy.txt"))
        // Inside the root everything works.
        let inside = await harness.call("execute_command", ["command": "python3", "args": ["-c", "open('made.txt', 'w').write('ok'); print(open('made.txt').read())"]])
        #expect(inside.structuredContent?["stdout"]?.stringValue == "ok\n", "\(ToolHarness.text(inside))")
        await harness.close()
    }

    @Test func commandsCannotSignalTheServiceOrKeepCapabilities() async throws {
        let harness = try ToolHarness()
        let status = await harness.call("execute_command", ["command": "grep", "args": ["^Cap", "/proc/self/status"]])
        let text = status.structuredContent?["stdout"]?.stringValue ?? ""
        #expect(text.contains("CapEff:\t0000000000000000"), "\(text)")
        #expect(text.contains("CapBnd:\t0000000000000000"), "\(text)")
        if Landlock.abi >= 6 {
            let signal = await harness.call("execute_command", ["command": "python3", "args": ["-c", .string("import os, signal; os.kill(\(getpid()), signal.SIGCONT)")]])
            #expect(signal.structuredContent?["exit_code"] != 0, "a command could signal the service")
            #expect(signal.structuredContent?["stderr"]?.stringValue?.contains("PermissionError") == true)
        }
        await harness.close()
    }

    @Test func networkCanBeDeniedToCommands() async throws {
        try #require(Landlock.abi >= 4, "TCP rules need Landlock ABI 4")
        let harness = try ToolHarness(policy: ["sandbox": ["network": false]])
        let port = TestEnvironment.freePorts(1)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(listener, 1)
        defer { close(listener) }
        let script = "import socket; socket.create_connection(('127.0.0.1', \(port)), timeout=2); print('connected')"
        let result = await harness.call("execute_command", ["command": "python3", "args": ["-c", .string(script)]])
        #expect(result.structuredContent?["stdout"]?.stringValue?.contains("connected") == false)
        #expect(result.structuredContent?["stderr"]?.stringValue?.contains("PermissionError") == true, "\(ToolHarness.text(result))")
        await harness.close()
    }

    // MARK: Resource exhaustion

    @Test func aForkBombIsBoundedAndLeavesNothingBehind() async throws {
        let harness = try ToolHarness(policy: ["limits": ["processes": 32]])
        let marker = "forkbomb-\(UUID().uuidString.prefix(8))"
        let script = "import os, time  # \(marker)\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)"
        let result = await harness.call("execute_command", ["command": "python3", "args": ["-c", .string(script)], "timeout_ms": 2000])
        #expect(result.isError)
        #expect(result.structuredContent?["terminated_by"] == "timeout")
        let execution = ToolHarness.meta(result, "switchboard/execution")
        if CgroupManager.shared.hasPidsController {
            #expect(execution?["process_limit_reached"] == true, "\(execution?.jsonString ?? "")")
            #expect(execution?["limits"]?["processes_enforced_by"]?.stringValue?.hasPrefix("cgroup") == true)
        }
        #expect(!ToolHarness.processRunning(withMarker: marker), "fork bomb processes survived")
        await harness.close()
    }

    @Test func anOutputFloodIsCutAndStopped() async throws {
        let harness = try ToolHarness(policy: ["limits": ["output": 65536]])
        let start = ContinuousClock.now
        let result = await harness.call("execute_command", ["command": "cat", "args": ["/dev/zero"], "timeout_ms": 60000])
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(result.structuredContent?["output_truncated"] == true)
        #expect(result.structuredContent?["terminated_by"] == "output_limit")
        #expect((result.structuredContent?["stdout"]?.stringValue?.utf8.count ?? 0) == 65536)
        #expect(ToolHarness.text(result).contains("output truncated"))
        await harness.close()
    }

    @Test func aHugeFileStopsAtTheFileSizeLimit() async throws {
        let harness = try ToolHarness(policy: ["limits": ["file_size": "1MiB"]])
        let copy = await harness.call("execute_command", ["command": "cp", "args": ["/dev/zero", "big.bin"], "timeout_ms": 20000])
        #expect(copy.structuredContent?["terminated_by"] == "file_size", "\(ToolHarness.text(copy))")
        #expect(copy.structuredContent?["signal"] == "SIGXFSZ")
        // Python ignores SIGXFSZ, so its write fails instead.
        let script = "f = open('big2.bin', 'wb')\nwhile True:\n    f.write(b'x' * 65536)"
        let python = await harness.call("execute_command", ["command": "python3", "args": ["-c", .string(script)], "timeout_ms": 20000])
        #expect(python.structuredContent?["stderr"]?.stringValue?.contains("File too large") == true, "\(ToolHarness.text(python))")
        for name in ["big.bin", "big2.bin"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: harness.root + "/" + name)[.size] as? Int) ?? 0
            #expect(size <= 1 << 20)
        }
        await harness.close()
    }

    @Test func aMemoryHogIsStopped() async throws {
        let harness = try ToolHarness(policy: ["limits": ["memory": "64MiB"]])
        let script = "x = b'x' * (512 * 1024 * 1024)\nprint('allocated', len(x))"
        let result = await harness.call("execute_command", ["command": "python3", "args": ["-c", .string(script)], "timeout_ms": 20000])
        #expect(result.structuredContent?["stdout"]?.stringValue?.contains("allocated") == false)
        let limits = ToolHarness.meta(result, "switchboard/execution")?["limits"]
        if CgroupManager.shared.hasMemoryController {
            #expect(result.structuredContent?["terminated_by"] == "memory", "\(ToolHarness.text(result))")
            #expect(limits?["memory_enforced_by"]?.stringValue?.hasPrefix("cgroup") == true)
        } else {
            #expect(result.structuredContent?["stderr"]?.stringValue?.contains("MemoryError") == true)
            #expect(limits?["memory_enforced_by"] == "rlimit (address space)")
        }
        await harness.close()
    }

    @Test func deepRecursionCrashesOnlyTheCommand() async throws {
        let harness = try ToolHarness(policy: ["limits": ["memory": "128MiB"]])
        let script = "import sys\nsys.setrecursionlimit(10**9)\ndef f(n): return f(n + 1)\nf(0)"
        let result = await harness.call("execute_command", ["command": "python3", "args": ["-c", .string(script)], "timeout_ms": 30000])
        #expect(result.isError)
        // CPython 3.11 keeps Python frames on the heap: the recursion ends at the memory limit (or the C stack).
        let ending = result.structuredContent?["terminated_by"]?.stringValue ?? result.structuredContent?["signal"]?.stringValue
        #expect(ending == "memory" || ending == "SIGSEGV", "\(ToolHarness.text(result))")
        // The service still answers.
        let after = await harness.call("get_system_info")
        #expect(!after.isError)
        await harness.close()
    }

    @Test func aDeepDirectoryTreeIsWalkedToALimit() async throws {
        let harness = try ToolHarness()
        var path = harness.root
        for _ in 0..<150 { path += "/d" }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try "needle".write(toFile: path + "/deep.txt", atomically: true, encoding: .utf8)
        let search = await harness.call("search_files", ["query": "needle"])
        #expect(!search.isError)
        #expect(search.structuredContent?["depth_limited"] == true)
        let listing = await harness.call("list_directory", ["depth": 32])
        #expect(!listing.isError)
        #expect((listing.structuredContent?["entries"]?.arrayValue?.count ?? 0) == 32)
        await harness.close()
    }

    @Test func processesThatEscapeTheGroupAreKilledWithTheCommand() async throws {
        let harness = try ToolHarness()
        let marker = "escapee-\(UUID().uuidString.prefix(8))"
        let script = "import os, time  # \(marker)\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\nprint('parent done')"
        let result = await harness.call("execute_command", ["command": "python3", "args": ["-c", .string(script)]])
        #expect(result.structuredContent?["stdout"]?.stringValue == "parent done\n", "\(ToolHarness.text(result))")
        if CgroupManager.shared.mechanism != "rlimit" {
            #expect(!ToolHarness.processRunning(withMarker: marker), "a setsid child outlived its command")
        }
        await harness.close()
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() async throws {
        let harness = try ToolHarness(policy: ["commands": ["shell": true]])
        let marker = "41.\(Int.random(in: 100_000...999_999))"
        let start = ContinuousClock.now
        let result = await harness.call("execute_command", ["command": .string("sleep \(marker) & sleep \(marker)"), "shell": true, "timeout_ms": 500])
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(result.structuredContent?["terminated_by"] == "timeout")
        #expect(ToolHarness.text(result).contains("stopped: timeout"))
        #expect(!ToolHarness.processRunning(withMarker: marker))
        await harness.close()
    }

    @Test func hugeArgumentsAreRefusedByPolicy() async throws {
        let harness = try ToolHarness(policy: ["files": ["max_write": "1KiB"]])
        let result = await harness.call("write_file", ["path": "big.txt", "content": .string(String(repeating: "x", count: 4096))])
        #expect(ToolHarness.rule(result) == "files.max_write")
        #expect(!FileManager.default.fileExists(atPath: harness.root + "/big.txt"))
        await harness.close()
    }
}

/// A flag another thread polls.
final class Flag: Sendable {
    private let value = Atomic<Bool>(true)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func clear() { value.store(false, ordering: .relaxed) }
}
