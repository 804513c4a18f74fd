/// One documented configuration setting: an environment variable with a command-line override.
///
/// Every key of every service is declared as a static member of `ConfigKey` (see `ConfigKey+Catalog.swift`),
/// which is the one place the README's configuration table is generated from (`switchboard config`).
public struct ConfigKey: Sendable, Hashable {
    /// The accepted form of a value.
    public enum Kind: Sendable, Hashable {
        case string
        /// A non-empty string.
        case nonEmpty
        case integer(ClosedRange<Int>)
        case boolean
        case choice([String])
        /// An absolute http(s) URL.
        case url
        /// Comma-separated http(s) URLs (may be empty).
        case urlList
        /// Comma-separated strings (may be empty).
        case list
        /// A compose duration (`10s`, `1m30s`, `250ms`).
        case duration
        /// A compose byte size (`4MiB`, `512m`, `1gb`, or bytes).
        case byteSize

        /// What a valid value looks like, for error messages and docs.
        public var expectation: String {
            switch self {
            case .string: return "any string"
            case .nonEmpty: return "a non-empty string"
            case .integer(let range): return "an integer from \(range.lowerBound) to \(range.upperBound)"
            case .boolean: return "one of true, false, 1, 0, yes, no"
            case .choice(let values): return "one of \(values.joined(separator: ", "))"
            case .url: return "an http:// or https:// URL"
            case .urlList: return "comma-separated http:// or https:// URLs"
            case .list: return "a comma-separated list"
            case .duration: return "a duration such as 500ms, 10s or 1m30s"
            case .byteSize: return "a size such as 4MiB, 512m or 1048576"
            }
        }
    }

    /// Environment variable name, e.g. `SWITCHBOARD_PORT`.
    public let name: String
    /// Default used when neither the environment nor a flag sets the key ("" = unset).
    public let defaultValue: String
    public let kind: Kind
    /// One line for the configuration table.
    public let summary: String
    /// Values the key must never appear with in logs.
    public let isSecret: Bool

    public init(_ name: String, default defaultValue: String, _ kind: Kind, _ summary: String, secret: Bool = false) {
        self.name = name
        self.defaultValue = defaultValue
        self.kind = kind
        self.summary = summary
        self.isSecret = secret
    }

    /// The command-line form: `SWITCHBOARD_TOOLS_URL` → `--tools-url`.
    public var flag: String {
        let base = name.hasPrefix("SWITCHBOARD_") ? String(name.dropFirst("SWITCHBOARD_".count)) : name
        return "--" + base.lowercased().replacingOccurrences(of: "_", with: "-")
    }

    public static func == (lhs: ConfigKey, rhs: ConfigKey) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    /// Checks `value` against the kind; returns nil when valid.
    func problem(with value: String) -> String? {
        switch kind {
        case .string, .list:
            return nil
        case .nonEmpty:
            return value.isEmpty ? kind.expectation : nil
        case .integer(let range):
            guard let number = Int(value), range.contains(number) else { return kind.expectation }
            return nil
        case .boolean:
            return ConfigKey.parseBool(value) == nil ? kind.expectation : nil
        case .choice(let values):
            return values.contains(value) ? nil : kind.expectation
        case .url:
            return ConfigKey.isHTTPURL(value) ? nil : kind.expectation
        case .urlList:
            let items = ConfigKey.splitList(value)
            return items.allSatisfy(ConfigKey.isHTTPURL) ? nil : kind.expectation
        case .duration:
            guard let duration = Units.parseDuration(value), duration >= .zero else { return kind.expectation }
            return nil
        case .byteSize:
            return Units.parseByteSize(value) == nil ? kind.expectation : nil
        }
    }

    static func parseBool(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: return nil
        }
    }

    static func isHTTPURL(_ value: String) -> Bool {
        guard value.hasPrefix("http://") || value.hasPrefix("https://") else { return false }
        let rest = value.drop(while: { $0 != "/" }).dropFirst(2)
        return !rest.isEmpty && !rest.hasPrefix("/")
    }

    static func splitList(_ value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
