import Foundation

/// Why configuration could not be loaded; `description` is the one line printed before exiting.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Resolved, validated configuration of one process: defaults, overridden by the environment,
/// overridden by command-line flags (`--port 8080` or `--port=8080`).
public struct ServiceConfiguration: Sendable {
    public let keys: [ConfigKey]
    private let values: [String: String]

    /// Loads and validates every key; the first bad value or unknown flag is an error naming it.
    public init(keys: [ConfigKey], environment: [String: String], arguments: [String]) throws(ConfigurationError) {
        self.keys = keys
        var values: [String: String] = [:]
        for key in keys {
            values[key.name] = environment[key.name] ?? key.defaultValue
        }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else {
                throw ConfigurationError(description: "unexpected argument '\(argument)'; options are \(keys.map(\.flag).joined(separator: ", "))")
            }
            var flag = argument
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard let key = keys.first(where: { $0.flag == flag }) else {
                throw ConfigurationError(description: "unknown option '\(flag)'; options are \(keys.map(\.flag).joined(separator: ", "))")
            }
            if value == nil {
                if case .boolean = key.kind, index + 1 >= arguments.count || arguments[index + 1].hasPrefix("--") {
                    value = "true"
                } else {
                    index += 1
                    guard index < arguments.count else {
                        throw ConfigurationError(description: "option \(flag) needs a value: \(key.kind.expectation)")
                    }
                    value = arguments[index]
                }
            }
            values[key.name] = value
            index += 1
        }
        for key in keys {
            let value = values[key.name] ?? ""
            if let problem = key.problem(with: value) {
                let shown = key.isSecret ? "(hidden)" : "'\(value)'"
                throw ConfigurationError(description: "invalid value \(shown) for \(key.name) (\(key.flag)): expected \(problem)")
            }
        }
        self.values = values
    }

    /// Configuration from the process environment and `CommandLine.arguments` after `argumentOffset`.
    public static func fromProcess(keys: [ConfigKey], argumentOffset: Int = 1) throws(ConfigurationError) -> ServiceConfiguration {
        try ServiceConfiguration(
            keys: keys,
            environment: ProcessInfo.processInfo.environment,
            arguments: Array(CommandLine.arguments.dropFirst(argumentOffset))
        )
    }

    private func raw(_ key: ConfigKey) -> String {
        precondition(keys.contains(key), "\(key.name) is not a key of this service")
        return values[key.name] ?? key.defaultValue
    }

    public func string(_ key: ConfigKey) -> String { raw(key) }

    /// The value, or nil when it is empty.
    public func optional(_ key: ConfigKey) -> String? {
        let value = raw(key)
        return value.isEmpty ? nil : value
    }

    public func int(_ key: ConfigKey) -> Int { Int(raw(key)) ?? 0 }

    /// The service's listening port (`SWITCHBOARD_PORT`, whose default differs per service).
    public var port: Int { Int(values["SWITCHBOARD_PORT"] ?? "") ?? 0 }

    public func bool(_ key: ConfigKey) -> Bool { ConfigKey.parseBool(raw(key)) ?? false }

    public func list(_ key: ConfigKey) -> [String] { ConfigKey.splitList(raw(key)) }

    public func duration(_ key: ConfigKey) -> Duration { Units.parseDuration(raw(key)) ?? .zero }

    public func bytes(_ key: ConfigKey) -> Int { Int(Units.parseByteSize(raw(key)) ?? 0) }

    /// A copy with some values replaced (used by tests and by the supervisor's own services).
    public func with(_ overrides: [ConfigKey: String]) throws(ConfigurationError) -> ServiceConfiguration {
        var environment = values
        for (key, value) in overrides { environment[key.name] = value }
        return try ServiceConfiguration(keys: keys, environment: environment, arguments: [])
    }

    /// Usage text listing every key, its default and what it accepts.
    public static func usage(program: String, keys: [ConfigKey]) -> String {
        var lines = ["usage: \(program) [options]", "       \(program) healthcheck [options]", "", "options (each also read from its environment variable):"]
        for key in keys {
            let defaultText = key.defaultValue.isEmpty ? "" : " (default \(key.defaultValue))"
            lines.append("  \(key.flag) <value>  \(key.name)\(defaultText)")
            lines.append("      \(key.summary); \(key.kind.expectation)")
        }
        return lines.joined(separator: "\n")
    }
}
