import Foundation
import Learning
import Logging
import Synchronization
import SwitchboardCore

extension Learner {
    /// Starts an experiment from a `POST /v1/experiments` body (shape in docs/operations.md, "Policy
    /// experiments"); a field that is not the documented shape is named in the error.
    func startExperiment(_ request: JSONValue) async throws -> Experiment {
        guard case .object = request else { throw ServiceError(.badRequest, "experiment body must be a JSON object") }
        guard let mode = Experiment.Mode(rawValue: request["mode"]?.stringValue ?? "canary") else {
            throw ServiceError(.badRequest, "experiment.mode must be shadow or canary")
        }
        var share = 0.0
        if mode == .canary {
            share = request["share"]?.doubleValue ?? 0.05
            guard share > 0, share <= 0.5 else { throw ServiceError(.badRequest, "experiment.share must be a number in (0, 0.5] for a canary") }
        }
        guard let candidate = request["candidate"], case .object = candidate else {
            throw ServiceError(.badRequest, "experiment.candidate must be an object with model_version, or routing and/or cache")
        }
        let requestedRouting = try Self.numbers(candidate["routing"], "experiment.candidate.routing", minimum: 0, inclusive: true)
        let requestedCache = try Self.numbers(candidate["cache"], "experiment.candidate.cache", minimum: 0, inclusive: false)
        let source: Experiment.Source
        var routing: [String: Double]
        var cache: [String: Double]
        if let versionValue = candidate["model_version"] {
            guard let number = versionValue.intValue else { throw ServiceError(.badRequest, "experiment.candidate.model_version must be an integer") }
            guard requestedRouting.isEmpty && requestedCache.isEmpty else {
                throw ServiceError(.badRequest, "experiment.candidate takes model_version or routing/cache, not both")
            }
            let models: LearnedModels
            do {
                models = try LearnedModels(checkpoint: try await store.payload(of: Int(number)), settings: settings.models)
            } catch let error as ServiceError {
                throw error
            } catch {
                throw ServiceError(.internal, "model version \(number) is unreadable: \(error)")
            }
            let content = PolicyDocument.content(models)
            source = .modelVersion(Int(number))
            routing = PolicyDocument.weights(content)
            cache = PolicyDocument.ttls(content)
        } else {
            guard !requestedRouting.isEmpty || !requestedCache.isEmpty else {
                throw ServiceError(.badRequest, "experiment.candidate must name model_version, or routing weights and/or cache TTLs")
            }
            let published = publisher.current.content
            source = .overrides
            routing = PolicyDocument.weights(published).merging(requestedRouting) { $1 }
            cache = PolicyDocument.ttls(published).merging(requestedCache) { $1 }
        }
        let guardrail = try Self.guardrail(request["guardrail"])
        var autoPromote = true
        if let value = request["auto_promote"] {
            guard let flag = value.boolValue else { throw ServiceError(.badRequest, "experiment.auto_promote must be a boolean") }
            autoPromote = flag
        }
        let experiment = Experiment(
            id: experiments.nextID(), mode: mode, share: share, source: source, routing: routing, cache: cache, requestedRouting: requestedRouting,
            requestedCache: requestedCache, guardrail: guardrail, autoPromote: autoPromote, startedAt: Date().timeIntervalSince1970
        )
        try experiments.start(experiment)
        if mode == .canary { publishPolicy(force: true) }
        return experiment
    }

    /// Stops the running experiment `id` (the candidate is dropped) or promotes it (the candidate
    /// becomes the policy).
    func endExperiment(_ id: String, promote: Bool) async throws -> Experiment {
        let concluded = try experiments.conclude(
            id, promote ? .promoted : .stopped, reason: promote ? "promoted through the API" : "stopped through the API", at: Date().timeIntervalSince1970
        )
        if promote { try await adopt(concluded) }
        if concluded.mode == .canary || promote { publishPolicy(force: true) }
        return concluded
    }

    /// Acts on an experiment the guardrail concluded while events were applied.
    func settle(_ concluded: Experiment) {
        if concluded.status == .promoted {
            Task {
                do {
                    try await self.adopt(concluded)
                } catch {
                    self.logger.error("promoted experiment \(concluded.id) could not be adopted: \(error)")
                }
                self.publishPolicy(force: true)
            }
        } else {
            publishPolicy(force: true)
        }
    }

    /// Makes a promoted candidate the policy: its model version is rolled back to, or its routing
    /// weights and TTLs are pinned over the learned ones.
    private func adopt(_ experiment: Experiment) async throws {
        switch experiment.source {
        case .modelVersion(let number):
            _ = try await rollback(to: number)
        case .overrides:
            let pinned = pins.withLock { pins in
                pins.routing.merge(experiment.requestedRouting) { $1 }
                pins.cache.merge(experiment.requestedCache) { $1 }
                return pins
            }
            try await store.saveDocument(Self.pinsDocument, pinned.json.jsonBytes)
        }
    }

    /// Drops every pinned routing weight and TTL (learned values apply again); returns what was pinned.
    func clearPins() async throws -> PolicyDocument.Pins {
        let previous = pins.withLock { pins in
            defer { pins = PolicyDocument.Pins() }
            return pins
        }
        try await store.saveDocument(Self.pinsDocument, PolicyDocument.Pins().json.jsonBytes)
        publishPolicy(force: true)
        logger.notice("policy pins cleared", metadata: ["routing": .stringConvertible(previous.routing.count), "cache": .stringConvertible(previous.cache.count)])
        return previous
    }

    private static func numbers(_ value: JSONValue?, _ field: String, minimum: Double, inclusive: Bool) throws -> [String: Double] {
        guard let value else { return [:] }
        guard let members = value.objectValue else { throw ServiceError(.badRequest, "\(field) must be an object of numbers") }
        var numbers: [String: Double] = [:]
        for (name, entry) in members {
            guard let number = entry.doubleValue, number.isFinite, inclusive ? number >= minimum : number > minimum else {
                throw ServiceError(.badRequest, "\(field)[\"\(name)\"] must be a number \(inclusive ? "≥" : ">") \(Int(minimum))")
            }
            numbers[name] = number
        }
        return numbers
    }

    private static func guardrail(_ value: JSONValue?) throws -> Guardrail {
        var guardrail = Guardrail()
        guard let value else { return guardrail }
        guard case .object = value else { throw ServiceError(.badRequest, "experiment.guardrail must be an object") }
        func number(_ key: String) throws -> Double? {
            guard let field = value[key] else { return nil }
            guard let number = field.doubleValue else { throw ServiceError(.badRequest, "experiment.guardrail.\(key) must be a number") }
            return number
        }
        func integer(_ key: String) throws -> Int? {
            guard let field = value[key] else { return nil }
            guard let number = field.intValue else { throw ServiceError(.badRequest, "experiment.guardrail.\(key) must be an integer") }
            return Int(number)
        }
        guardrail.maxLatencyIncrease = try number("max_latency_increase") ?? guardrail.maxLatencyIncrease
        guardrail.maxErrorIncrease = try number("max_error_increase") ?? guardrail.maxErrorIncrease
        guardrail.confidence = try number("confidence") ?? guardrail.confidence
        guardrail.minEvents = try integer("min_events") ?? guardrail.minEvents
        guardrail.promoteAfter = try integer("promote_after") ?? guardrail.promoteAfter
        if let problem = guardrail.problem { throw ServiceError(.badRequest, "experiment.guardrail.\(problem)") }
        return guardrail
    }
}
