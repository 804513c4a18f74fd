import SwitchboardCore

/// What `execute_command` and `start_process` ask for, read from their (schema-validated) arguments.
struct CommandRequest: Sendable {
    /// A program (with `args`), a plain command line split like the shell would (no shell syntax), or
    /// a shell script when `shell` is true.
    var command: String
    var args: [String]?
    var shell: Bool
    var cwd: String?
    var environment: [String: String]
    var stdin: String?
    var timeout: Duration?

    init(_ arguments: JSONValue) {
        command = arguments["command"]?.stringValue ?? ""
        args = arguments["args"]?.arrayValue?.compactMap(\.stringValue)
        shell = arguments["shell"]?.boolValue ?? false
        cwd = arguments["cwd"]?.stringValue
        var environment: [String: String] = [:]
        for (name, value) in arguments["env"]?.objectValue ?? [] { environment[name] = value.stringValue ?? "" }
        self.environment = environment
        stdin = arguments["stdin"]?.stringValue
        timeout = arguments["timeout_ms"]?.intValue.map { Duration.milliseconds($0) }
    }

    /// The schema properties both command tools share.
    static let schemaProperties: [(key: String, value: JSONValue)] = [
        ("command", ["type": "string", "minLength": 1, "maxLength": 65536, "description": "Program to run (looked up on the policy PATH), or a whole command line such as `git status --short` (split like a shell would, without running one). With shell: true, a shell script."]),
        ("args", ["type": "array", "items": ["type": "string", "maxLength": 65536], "maxItems": 4096, "description": "Arguments passed as they are, without a shell (argv)."]),
        ("shell", ["type": "boolean", "description": "Run `command` as a shell script; only where the policy allows a shell. Every command in the script is still checked."]),
        ("cwd", ["type": "string", "minLength": 1, "description": "Working directory (relative to the workspace root); default the workspace root."]),
        ("env", ["type": "object", "additionalProperties": ["type": "string", "maxLength": 65536], "maxProperties": 256, "description": "Extra environment variables. PATH, LD_*, and variables that make programs run other programs are refused."]),
    ]
}
