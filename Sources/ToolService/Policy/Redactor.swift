import Foundation
import SwitchboardCore

/// Removes secrets from call arguments before they are written to the audit log: values under names
/// that look secret (`password`, `token`, `api_key`, … — also environment variables), passwords in
/// URLs, bearer tokens, well-known token formats, private keys, `--password value` style flags; bulk
/// data (file contents, edit texts, stdin) is replaced by its size and a hash prefix.
enum Redactor {
    static let marker = "[redacted]"

    /// Argument names whose values are data, not parameters: logged as size and hash only.
    static let bulkNames: Set<String> = ["content", "old_text", "new_text", "input", "stdin", "data"]

    static func redact(_ value: JSONValue) -> JSONValue {
        redact(value, name: nil)
    }

    private static func redact(_ value: JSONValue, name: String?) -> JSONValue {
        if let name, isSecretName(name), !(value.objectValue != nil) { return .string(marker) }
        switch value {
        case .string(let text):
            if let name, bulkNames.contains(name) {
                let digest = Digest.hex(Digest.sha256(Array(text.utf8))).prefix(12)
                return .string("[\(text.utf8.count) bytes sha256:\(digest)]")
            }
            return .string(scrub(text))
        case .array(let elements):
            var result: [JSONValue] = []
            var hideNext = false
            for element in elements {
                if hideNext {
                    result.append(.string(marker))
                    hideNext = false
                    continue
                }
                if let text = element.stringValue, text.hasPrefix("-"), !text.contains("="), isSecretName(String(text.drop(while: { $0 == "-" }))) {
                    hideNext = true
                }
                result.append(redact(element, name: name.flatMap { bulkNames.contains($0) ? $0 : nil }))
            }
            return .array(result)
        case .object(let members):
            return .object(members.map { ($0.key, redact($0.value, name: $0.key)) })
        default:
            return value
        }
    }

    /// Whether a name (argument, variable, flag) looks like it holds a secret.
    static func isSecretName(_ name: String) -> Bool {
        let lower = name.lowercased()
        for word in ["password", "passwd", "secret", "token", "apikey", "api_key", "api-key", "credential", "private_key", "private-key", "cookie", "authorization", "session_key", "access_key", "passphrase"]
        where lower.contains(word) {
            return true
        }
        return lower == "pass" || lower == "auth" || lower.hasPrefix("auth_") || lower.hasSuffix("_auth") || lower.hasSuffix("_key") || lower.hasSuffix("-key")
    }

    private static let patterns: [(NSRegularExpression, String)] = {
        let rules: [(String, String)] = [
            // scheme://user:password@host
            (#"([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*):[^@/\s]+@"#, "$1:\(marker)@"),
            (#"(?i)(authorization\s*[:=]\s*)(?:(?:bearer|basic|token)\s+)?\S+"#, "$1\(marker)"),
            (#"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=\-]{8,}"#, "$1 \(marker)"),
            (#"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"#, marker),
            (#"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}|sk-[A-Za-z0-9_\-]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35})\b"#, marker),
            // password=…, --token=…, ?api_key=…
            (#"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|authorization)[A-Za-z_\-]*\s*[=:]\s*)[^\s&;,'"]+"#, "$1\(marker)"),
        ]
        return rules.compactMap { pattern, template in (try? NSRegularExpression(pattern: pattern)).map { ($0, template) } }
    }()

    /// A string with secret-looking parts replaced; long strings are cut to 2048 characters.
    static func scrub(_ text: String) -> String {
        var result = text.count > 2048 ? String(text.prefix(2048)) + "…" : text
        for (expression, template) in patterns {
            let range = NSRange(result.startIndex..., in: result)
            guard expression.firstMatch(in: result, range: range) != nil else { continue }
            result = expression.stringByReplacingMatches(in: result, range: range, withTemplate: template)
        }
        return result
    }
}
