import Foundation
import SwitchboardCore

/// Reads a compose file: YAML, `.env` next to the file, interpolation, then the services with
/// compose's and Swarm's defaults. Every error names the path of the bad key.
enum ComposeLoader {
    static func load(path: String, environment: [String: String]) throws(ComposeError) -> ComposeProject {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ComposeError(path: "", message: "cannot read compose file \(path): \((error as NSError).localizedDescription)")
        }
        var variables = dotEnv(at: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(".env").path)
        variables.merge(environment) { _, process in process }
        do {
            return try parse(text, path: path, variables: variables)
        } catch {
            throw ComposeError(path: error.path, message: error.message + " (in \(path))")
        }
    }

    static func parse(_ text: String, path: String = "docker-compose.yml", variables: [String: String]) throws(ComposeError) -> ComposeProject {
        let raw = try YAMLDocument.parse(text)
        guard case .object = raw else { throw ComposeError(path: "", message: "the top level must be a mapping") }
        let document = try Interpolation(variables: variables).apply(to: raw)
        guard let servicesValue = document["services"] else { throw ComposeError(path: "services", message: "missing: a compose file needs services") }
        guard case .object(let members) = servicesValue else { throw ComposeError(path: "services", message: "must be a mapping of service names") }
        var services: [ComposeService] = []
        for (name, value) in members {
            guard name.range(of: "^[a-zA-Z0-9._-]+$", options: .regularExpression) != nil else {
                throw ComposeError(path: "services.\(name)", message: "invalid service name (use letters, digits, '.', '_' and '-')")
            }
            services.append(try service(name: name, value, path: "services.\(name)"))
        }
        let project = ComposeProject(services: services, path: path)
        _ = try project.startOrder()
        return project
    }

    static func dotEnv(at path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            var value = String(trimmed[trimmed.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            values[String(trimmed[..<equals]).trimmingCharacters(in: .whitespaces)] = value
        }
        return values
    }

    // MARK: Services

    private static let knownServiceKeys: Set<String> = [
        "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "depends_on", "healthcheck", "deploy",
        "scale", "stop_signal", "stop_grace_period", "restart", "networks", "volumes", "labels", "container_name", "hostname", "user",
        "working_dir", "init", "read_only", "cap_add", "cap_drop", "security_opt", "ulimits", "logging", "secrets", "configs", "tmpfs",
        "extra_hosts", "dns", "profiles", "platform", "pull_policy", "tty", "stdin_open", "memswap_limit", "mem_limit", "cpus", "pids_limit",
    ]

    private static func service(name: String, _ value: JSONValue, path: String) throws(ComposeError) -> ComposeService {
        guard case .object(let members) = value else { throw ComposeError(path: path, message: "must be a mapping") }
        for (key, _) in members where !key.hasPrefix("x-") && !knownServiceKeys.contains(key) {
            throw ComposeError(path: "\(path).\(key)", message: "unknown key")
        }
        var service = ComposeService(name: name)
        service.image = try value["image"].map { v throws(ComposeError) in try string(v, path: "\(path).image") }
        if let command = value["command"] { service.command = try commandLine(command, path: "\(path).command") }
        if let environment = value["environment"] { service.environment = try self.environment(environment, path: "\(path).environment") }
        if let ports = value["ports"] { service.ports = try self.ports(ports, path: "\(path).ports") }
        if let dependsOn = value["depends_on"] { service.dependsOn = try dependencies(dependsOn, path: "\(path).depends_on") }
        if let healthcheck = value["healthcheck"] { service.healthcheck = try self.healthcheck(healthcheck, path: "\(path).healthcheck") }
        if let signal = value["stop_signal"] { service.stopSignal = try self.signal(signal, path: "\(path).stop_signal") }
        if let grace = value["stop_grace_period"] { service.stopGracePeriod = try duration(grace, path: "\(path).stop_grace_period") }
        if let deploy = value["deploy"] { try self.deploy(deploy, into: &service, path: "\(path).deploy") }
        if let scale = value["scale"] { service.replicas = try integer(scale, path: "\(path).scale", range: 0...1000) }
        if let local = value["x-switchboard"] { service.local = try localRun(local, path: "\(path).x-switchboard") }
        switch service.local?.healthcheck {
        case .replaced(let test)?:
            var check = service.healthcheck ?? ComposeService.Healthcheck(test: test)
            check.test = test
            service.healthcheck = check
        case .disabled?:
            service.healthcheck = nil
        default:
            break
        }
        service.autoscale = value["x-autoscale"]
        return service
    }

    private static func deploy(_ value: JSONValue, into service: inout ComposeService, path: String) throws(ComposeError) {
        guard case .object = value else { throw ComposeError(path: path, message: "must be a mapping") }
        if let replicas = value["replicas"] { service.replicas = try integer(replicas, path: "\(path).replicas", range: 0...1000) }
        if let resources = value["resources"] {
            let limits = resources["limits"]
            let reservations = resources["reservations"]
            if let cpus = limits?["cpus"] { service.resources.cpus = try self.cpus(cpus, path: "\(path).resources.limits.cpus") }
            if let memory = limits?["memory"] { service.resources.memory = try byteSize(memory, path: "\(path).resources.limits.memory") }
            if let pids = limits?["pids"] { service.resources.pids = Int64(try integer(pids, path: "\(path).resources.limits.pids", range: -1...Int(Int32.max))) }
            if let cpus = reservations?["cpus"] { service.resources.reservedCPUs = try self.cpus(cpus, path: "\(path).resources.reservations.cpus") }
            if let memory = reservations?["memory"] { service.resources.reservedMemory = try byteSize(memory, path: "\(path).resources.reservations.memory") }
        }
        if let policy = value["restart_policy"] {
            let p = "\(path).restart_policy"
            if let condition = policy["condition"] {
                let text = try string(condition, path: "\(p).condition")
                guard let parsed = ComposeService.RestartPolicy.Condition(rawValue: text) else {
                    throw ComposeError(path: "\(p).condition", message: "'\(text)' is not one of none, on-failure, any")
                }
                service.restartPolicy.condition = parsed
            }
            if let delay = policy["delay"] { service.restartPolicy.delay = try duration(delay, path: "\(p).delay") }
            if let attempts = policy["max_attempts"] { service.restartPolicy.maxAttempts = try integer(attempts, path: "\(p).max_attempts", range: 0...1_000_000) }
            if let window = policy["window"] { service.restartPolicy.window = try duration(window, path: "\(p).window") }
        }
        if let update = value["update_config"] { service.updateConfig = try updateConfig(update, path: "\(path).update_config") }
        if let rollback = value["rollback_config"] { service.rollbackConfig = try updateConfig(rollback, path: "\(path).rollback_config") }
    }

    private static func updateConfig(_ value: JSONValue, path: String) throws(ComposeError) -> ComposeService.UpdateConfig {
        guard case .object = value else { throw ComposeError(path: path, message: "must be a mapping") }
        var config = ComposeService.UpdateConfig()
        if let parallelism = value["parallelism"] { config.parallelism = try integer(parallelism, path: "\(path).parallelism", range: 0...1000) }
        if let delay = value["delay"] { config.delay = try duration(delay, path: "\(path).delay") }
        if let action = value["failure_action"] {
            let text = try string(action, path: "\(path).failure_action")
            guard let parsed = ComposeService.UpdateConfig.FailureAction(rawValue: text) else {
                throw ComposeError(path: "\(path).failure_action", message: "'\(text)' is not one of pause, continue, rollback")
            }
            config.failureAction = parsed
        }
        if let monitor = value["monitor"] {
            let parsed = try duration(monitor, path: "\(path).monitor")
            config.monitor = parsed == .zero ? .seconds(5) : parsed
        }
        if let ratio = value["max_failure_ratio"] {
            guard let number = ratio.doubleValue ?? ratio.stringValue.flatMap(Double.init), number >= 0, number <= 1 else {
                throw ComposeError(path: "\(path).max_failure_ratio", message: "expected a number from 0 to 1")
            }
            config.maxFailureRatio = number
        }
        if let order = value["order"] {
            let text = try string(order, path: "\(path).order")
            guard let parsed = ComposeService.UpdateConfig.Order(rawValue: text) else {
                throw ComposeError(path: "\(path).order", message: "'\(text)' is not one of stop-first, start-first")
            }
            config.order = parsed
        }
        return config
    }

    private static func healthcheck(_ value: JSONValue, path: String) throws(ComposeError) -> ComposeService.Healthcheck? {
        guard case .object = value else { throw ComposeError(path: path, message: "must be a mapping") }
        if value["disable"]?.boolValue == true { return nil }
        guard let test = value["test"] else { throw ComposeError(path: "\(path).test", message: "missing") }
        var check: ComposeService.Healthcheck
        switch test {
        case .string(let text):
            check = .init(test: .shell(text))
        case .array(let items):
            let words = try items.enumerated().map { item throws(ComposeError) in try string(item.element, path: "\(path).test[\(item.offset)]") }
            switch words.first {
            case "NONE": return nil
            case "CMD" where words.count > 1: check = .init(test: .exec(Array(words.dropFirst())))
            case "CMD-SHELL" where words.count == 2: check = .init(test: .shell(words[1]))
            default: throw ComposeError(path: "\(path).test", message: "expected [\"CMD\", program, args…], [\"CMD-SHELL\", command] or [\"NONE\"]")
            }
        default:
            throw ComposeError(path: "\(path).test", message: "must be a string or a list")
        }
        if let interval = value["interval"] { check.interval = try positive(duration(interval, path: "\(path).interval"), path: "\(path).interval") }
        if let timeout = value["timeout"] { check.timeout = try positive(duration(timeout, path: "\(path).timeout"), path: "\(path).timeout") }
        if let retries = value["retries"] {
            let count = try integer(retries, path: "\(path).retries", range: 0...1000)
            check.retries = count <= 0 ? 3 : count
        }
        if let period = value["start_period"] { check.startPeriod = try duration(period, path: "\(path).start_period") }
        if let interval = value["start_interval"] { check.startInterval = try positive(duration(interval, path: "\(path).start_interval"), path: "\(path).start_interval") }
        return check
    }

    private static func localRun(_ value: JSONValue, path: String) throws(ComposeError) -> ComposeService.LocalRun {
        guard case .object = value else { throw ComposeError(path: path, message: "must be a mapping") }
        guard let command = value["command"] else { throw ComposeError(path: "\(path).command", message: "missing: the local program to run") }
        let words = try commandLine(command, path: "\(path).command")
        guard !words.isEmpty else { throw ComposeError(path: "\(path).command", message: "must name a program") }
        var local = ComposeService.LocalRun(command: words)
        if let port = value["port"] { local.port = try integer(port, path: "\(path).port", range: 1...65535) }
        if let endpoint = value["endpoint"] { local.endpoint = try string(endpoint, path: "\(path).endpoint") }
        if let optional = value["optional"] {
            guard let flag = optional.boolValue ?? optional.stringValue.flatMap({ ["true": true, "false": false][$0] }) else {
                throw ComposeError(path: "\(path).optional", message: "must be true or false")
            }
            local.optional = flag
        }
        if let test = value["healthcheck"] {
            let words = try commandLine(test, path: "\(path).healthcheck")
            switch words.first {
            case "NONE": local.healthcheck = .disabled
            case "CMD" where words.count > 1: local.healthcheck = .replaced(.exec(Array(words.dropFirst())))
            case "CMD-SHELL" where words.count == 2: local.healthcheck = .replaced(.shell(words[1]))
            default: throw ComposeError(path: "\(path).healthcheck", message: "expected [\"CMD\", program, args…], [\"CMD-SHELL\", command] or [\"NONE\"]")
            }
        }
        return local
    }

    private static func environment(_ value: JSONValue, path: String) throws(ComposeError) -> [(key: String, value: String)] {
        switch value {
        case .object(let members):
            var result: [(key: String, value: String)] = []
            for (key, item) in members {
                switch item {
                case .null: continue
                case .string(let s): result.append((key, s))
                case .int(let i): result.append((key, String(i)))
                case .double(let d): result.append((key, String(d)))
                case .bool(let b): result.append((key, b ? "true" : "false"))
                default: throw ComposeError(path: "\(path).\(key)", message: "must be a string, number or boolean")
                }
            }
            return result
        case .array(let items):
            var result: [(key: String, value: String)] = []
            for (index, item) in items.enumerated() {
                let text = try string(item, path: "\(path)[\(index)]")
                guard let equals = text.firstIndex(of: "=") else { continue }
                result.append((String(text[..<equals]), String(text[text.index(after: equals)...])))
            }
            return result
        default:
            throw ComposeError(path: path, message: "must be a mapping or a list of KEY=VALUE")
        }
    }

    private static func ports(_ value: JSONValue, path: String) throws(ComposeError) -> [ComposeService.Port] {
        guard case .array(let items) = value else { throw ComposeError(path: path, message: "must be a list") }
        var result: [ComposeService.Port] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            if case .object = item {
                guard let target = item["target"] else { throw ComposeError(path: "\(itemPath).target", message: "missing") }
                var port = ComposeService.Port(target: try integer(target, path: "\(itemPath).target", range: 1...65535))
                if let published = item["published"] { port.published = try portRange(try string(published, path: "\(itemPath).published"), path: "\(itemPath).published") }
                port.hostIP = item["host_ip"]?.stringValue
                result.append(port)
                continue
            }
            var text = try string(item, path: itemPath)
            if let slash = text.firstIndex(of: "/") { text = String(text[..<slash]) }
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            switch parts.count {
            case 1:
                result.append(.init(published: nil, target: try portNumber(parts[0], path: itemPath)))
            case 2:
                result.append(.init(published: try portRange(parts[0], path: itemPath), target: try portNumber(parts[1], path: itemPath)))
            case 3:
                result.append(.init(published: try portRange(parts[1], path: itemPath), target: try portNumber(parts[2], path: itemPath), hostIP: parts[0]))
            default:
                throw ComposeError(path: itemPath, message: "expected [host_ip:]published:target")
            }
        }
        return result
    }

    private static func dependencies(_ value: JSONValue, path: String) throws(ComposeError) -> [ComposeService.Dependency] {
        switch value {
        case .array(let items):
            return try items.enumerated().map { item throws(ComposeError) in
                .init(service: try string(item.element, path: "\(path)[\(item.offset)]"), condition: .started, required: true)
            }
        case .object(let members):
            var result: [ComposeService.Dependency] = []
            for (name, spec) in members {
                var dependency = ComposeService.Dependency(service: name, condition: .started, required: true)
                if let condition = spec["condition"] {
                    let text = try string(condition, path: "\(path).\(name).condition")
                    guard let parsed = ComposeService.DependencyCondition(rawValue: text) else {
                        throw ComposeError(path: "\(path).\(name).condition", message: "'\(text)' is not one of service_started, service_healthy, service_completed_successfully")
                    }
                    dependency.condition = parsed
                }
                if let required = spec["required"] {
                    guard let flag = required.boolValue else { throw ComposeError(path: "\(path).\(name).required", message: "must be true or false") }
                    dependency.required = flag
                }
                result.append(dependency)
            }
            return result
        default:
            throw ComposeError(path: path, message: "must be a list or a mapping")
        }
    }

    // MARK: Scalars

    static func string(_ value: JSONValue, path: String) throws(ComposeError) -> String {
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        default: throw ComposeError(path: path, message: "expected a string")
        }
    }

    static func integer(_ value: JSONValue, path: String, range: ClosedRange<Int>) throws(ComposeError) -> Int {
        let number: Int? = value.intValue.map(Int.init) ?? value.stringValue.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard let number, range.contains(number) else {
            throw ComposeError(path: path, message: "expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    static func duration(_ value: JSONValue, path: String) throws(ComposeError) -> Duration {
        let text = try string(value, path: path)
        guard let parsed = Units.parseDuration(text), parsed >= .zero else {
            throw ComposeError(path: path, message: "'\(text)' is not a duration (use units like 500ms, 10s, 1m30s)")
        }
        return parsed
    }

    private static func positive(_ value: Duration, path: String) throws(ComposeError) -> Duration {
        guard value > .zero else { throw ComposeError(path: path, message: "must be greater than 0") }
        return value
    }

    static func byteSize(_ value: JSONValue, path: String) throws(ComposeError) -> Int64 {
        let text = try string(value, path: path)
        guard let parsed = Units.parseByteSize(text) else {
            throw ComposeError(path: path, message: "'\(text)' is not a byte size (use 512M, 1g, 1048576)")
        }
        return parsed
    }

    static func cpus(_ value: JSONValue, path: String) throws(ComposeError) -> Double {
        let number = value.doubleValue ?? value.stringValue.flatMap { Double($0) }
        guard let number, number > 0 else { throw ComposeError(path: path, message: "expected a positive number of CPUs such as 0.5") }
        return number
    }

    static func signal(_ value: JSONValue, path: String) throws(ComposeError) -> Int32 {
        let text = try string(value, path: path).uppercased()
        let name = text.hasPrefix("SIG") ? String(text.dropFirst(3)) : text
        let signals: [String: Int32] = [
            "TERM": SIGTERM, "INT": SIGINT, "QUIT": SIGQUIT, "KILL": SIGKILL, "HUP": SIGHUP, "USR1": SIGUSR1, "USR2": SIGUSR2,
        ]
        if let number = Int32(name), number > 0, number < 65 { return number }
        guard let signal = signals[name] else { throw ComposeError(path: path, message: "unknown signal '\(text)'") }
        return signal
    }

    private static func portNumber(_ text: String, path: String) throws(ComposeError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else { throw ComposeError(path: path, message: "'\(text)' is not a port number") }
        return port
    }

    private static func portRange(_ text: String, path: String) throws(ComposeError) -> ClosedRange<Int> {
        let bounds = text.split(separator: "-").map(String.init)
        guard bounds.count == 1 || bounds.count == 2 else { throw ComposeError(path: path, message: "'\(text)' is not a port or port range") }
        let lower = try portNumber(bounds[0], path: path)
        let upper = bounds.count == 2 ? try portNumber(bounds[1], path: path) : lower
        guard lower <= upper else { throw ComposeError(path: path, message: "port range \(text) is reversed") }
        return lower...upper
    }

    /// Compose's command forms: a list, or a string split like a shell would (quotes, no expansion).
    static func commandLine(_ value: JSONValue, path: String) throws(ComposeError) -> [String] {
        switch value {
        case .array(let items):
            return try items.enumerated().map { item throws(ComposeError) in try string(item.element, path: "\(path)[\(item.offset)]") }
        case .string(let text):
            guard let words = ShellWords.split(text) else { throw ComposeError(path: path, message: "unbalanced quotes") }
            return words
        default:
            throw ComposeError(path: path, message: "must be a string or a list")
        }
    }
}

/// Splits a command string into words: whitespace separates, single and double quotes group,
/// backslash escapes. No expansion of any kind.
enum ShellWords {
    static func split(_ text: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
                inWord = true
                continue
            }
            if character == "\\" && quote != "'" {
                escaped = true
                continue
            }
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
                continue
            }
            if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            } else {
                current.append(character)
                inWord = true
            }
        }
        if quote != nil || escaped { return nil }
        if inWord { words.append(current) }
        return words
    }
}
