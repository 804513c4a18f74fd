/// A refusal by the security policy. The call ends as an `isError` result naming the rule, is counted
/// as denied and written to the audit log with the rule.
struct PolicyDenial: Error, Sendable, CustomStringConvertible {
    /// A stable rule name such as `path.outside_roots` or `command.not_allowed` (documented in docs/operations.md).
    let rule: String
    let message: String

    init(_ rule: String, _ message: String) {
        self.rule = rule
        self.message = message
    }

    var description: String { "denied by policy rule \(rule): \(message)" }
}

/// A tool could not do what was asked for a reason the caller can act on (missing file, wrong count of
/// matches, bad combination of arguments). The call ends as an `isError` result with this message.
struct ToolFailure: Error, Sendable, CustomStringConvertible {
    let message: String
    /// The errno behind a file-system failure, 0 otherwise.
    let code: Int32

    init(_ message: String, code: Int32 = 0) {
        self.message = message
        self.code = code
    }

    var description: String { message }
}
