import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// The supervisor's control API under `/v1` (loopback only, service secret required); the routes and
/// their bodies are described in ``SupervisorAPI``.
struct ControlController: Sendable {
    let stack: Stack
    let requestShutdown: @Sendable () -> Void

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.get("status") { _, _ in
            Response.json(await ControlController.status(stack))
        }
        group.get("replicas") { _, _ in
            Response.json(["replicas": .array(await stack.replicaReports)])
        }
        group.get("autoscale") { _, _ in
            var services: [JSONValue] = []
            for name in await stack.autoscaledServices {
                services.append(["service": .string(name), "decisions": .array(await stack.autoscaleDecisions(name).map(\.json))])
            }
            return Response.json(["services": .array(services)])
        }
        group.post("shutdown") { _, _ in
            requestShutdown()
            return Response.json(["stopping": true], status: .accepted)
        }
        group.get("services/:service") { _, context in
            let name = try context.parameters.require("service")
            guard let entry = await ControlController.service(name, stack: stack) else { throw ServiceError(.notFound, await stack.unknownService(name)) }
            return Response.json(entry)
        }
        group.get("services/:service/endpoints") { request, context in
            let name = try context.parameters.require("service")
            guard await stack.runtime(name) != nil else { throw ServiceError(.notFound, await stack.unknownService(name)) }
            let query = request.uri.queryParameters
            let watcher = query.get(SupervisorAPI.watcherParameter)
            guard let sinceText = query.get(SupervisorAPI.sinceParameter) else {
                return Response.json(stack.board.current(name).json)
            }
            guard let since = Int(sinceText) else { throw ServiceError(.badRequest, "since must be an integer version, not '\(sinceText)'") }
            var wait = Duration.seconds(20)
            if let text = query.get(SupervisorAPI.waitParameter) {
                guard let parsed = Units.parseDuration(text), parsed >= .zero, parsed <= .seconds(60) else {
                    throw ServiceError(.badRequest, "wait must be a duration up to 60s, not '\(text)'")
                }
                wait = parsed
            }
            return Response.json(await stack.board.watch(name, since: since, watcher: watcher, wait: wait).json)
        }
        group.post("services/:service/scale") { request, context in
            let name = try context.parameters.require("service")
            let body = try await ControlController.body(request)
            guard let replicas = body["replicas"]?.intValue else { throw ServiceError(.badRequest, "expected {\"replicas\": N}") }
            let previous = try await ControlController.run { () async throws(StackError) in try await stack.scale(name, to: Int(replicas)) }
            return Response.json(["service": .string(name), "previous": .int(Int64(previous)), "replicas": .int(replicas)])
        }
        group.post("services/:service/update") { request, context in
            let name = try context.parameters.require("service")
            let body = try await ControlController.body(request)
            var update = UpdateRequest()
            for (key, value) in body["env"]?.objectValue ?? [] {
                guard let text = value.stringValue else { throw ServiceError(.badRequest, "env.\(key) must be a string") }
                update.environment[key] = text
            }
            update.removedEnvironment = body["unset_env"]?.arrayValue?.compactMap(\.stringValue) ?? []
            update.binary = body["binary"]?.stringValue
            update.force = body["force"]?.boolValue ?? false
            let changed = try await ControlController.run { () async throws(StackError) in try await stack.update(name, update) }
            var entry = await ControlController.service(name, stack: stack) ?? [:]
            entry = entry.setting("changed", to: .bool(changed))
            return Response.json(entry, status: .accepted)
        }
        group.post("services/:service/rollback") { _, context in
            let name = try context.parameters.require("service")
            try await ControlController.run { () async throws(StackError) in try await stack.rollback(name) }
            return Response.json(await ControlController.service(name, stack: stack) ?? [:], status: .accepted)
        }
    }

    /// Maps the stack's refusals to HTTP: unknown service 404, a stack not running 409, anything else 400.
    private static func run<T: Sendable>(_ body: () async throws(StackError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            let message = error.description
            if message.hasPrefix("unknown service") || message.contains("is not running here") { throw ServiceError(.notFound, message) }
            if message.hasPrefix("the stack is") { throw ServiceError(.conflict, message) }
            throw ServiceError(.badRequest, message)
        }
    }

    private static func body(_ request: Request) async throws -> JSONValue {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        guard buffer.readableBytes > 0 else { return [:] }
        do {
            return try JSONParser.parse(buffer)
        } catch {
            throw ServiceError(.badRequest, "the body is not JSON: \(error)")
        }
    }

    // MARK: Reports

    /// One service: desired and ready replicas, definition versions, update state, limits, autoscaling.
    static func service(_ name: String, stack: Stack) async -> JSONValue? {
        guard let runtime = await stack.runtime(name) else { return nil }
        let tasks = await stack.replicas.filter { $0.key.service == name }
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(name)),
            ("replicas", .int(Int64(runtime.replicas))),
            ("ready", .int(Int64(tasks.filter(\.isReady).count))),
            ("spec_version", .int(Int64(runtime.version))),
            ("previous_spec_version", runtime.previous.map { .int(Int64($0.number)) } ?? .null),
            ("update", runtime.update?.json ?? .null),
            ("update_history", .array(runtime.updateHistory.map(\.json))),
            ("limits", .array(runtime.definition.limits.described.map { ["limit": .string($0.limit), "value": .string($0.value)] })),
            ("update_config", config(runtime.spec.updateConfig)),
            ("rollback_config", config(runtime.spec.rollbackConfig)),
        ]
        if let autoscale = runtime.spec.autoscale {
            var entry: [(key: String, value: JSONValue)] = [
                ("min", .int(Int64(autoscale.minReplicas))), ("max", .int(Int64(autoscale.maxReplicas))),
                ("targets", .array(autoscale.targets.map { .string($0.name) })),
            ]
            if let calls = autoscale.callsPerReplica { entry.append(("calls_per_replica", .double(calls))) }
            if let last = await stack.autoscaleDecisions(name).last { entry.append(("last", last.json)) }
            members.append(("autoscale", .object(entry)))
        }
        return .object(members)
    }

    private static func config(_ config: ComposeService.UpdateConfig) -> JSONValue {
        [
            "parallelism": .int(Int64(config.parallelism)), "delay": .string(Units.format(config.delay)),
            "failure_action": .string(config.failureAction.rawValue), "monitor": .string(Units.format(config.monitor)),
            "max_failure_ratio": .double(config.maxFailureRatio), "order": .string(config.order.rawValue),
        ]
    }

    /// Phase, endpoints, services and replicas.
    static func status(_ stack: Stack) async -> JSONValue {
        let skipped = await stack.skipped
        var endpoints: [JSONValue] = []
        var services: [JSONValue] = []
        for service in stack.project.services {
            if let reason = skipped[service.name] {
                services.append(["name": .string(service.name), "replicas": .int(0), "ready": .int(0), "skipped": .string(reason)])
            } else if let entry = await Self.service(service.name, stack: stack) {
                services.append(entry)
            }
            if let endpoint = service.local?.endpoint, let port = service.localPort(slot: 1) {
                endpoints.append(["service": .string(service.name), "url": .string("http://127.0.0.1:\(port)\(endpoint)")])
            }
        }
        return [
            "phase": .string(await stack.phase.rawValue),
            "pid": .int(Int64(getpid())),
            "compose_file": .string(stack.project.path),
            "endpoints": .array(endpoints),
            "services": .array(services),
            "replicas": .array(await stack.replicaReports),
        ]
    }
}
