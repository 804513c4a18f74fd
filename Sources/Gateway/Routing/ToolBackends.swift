import AsyncHTTPClient
import Learning
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import SwitchboardCore

/// Where a tools/call went and what came back.
struct ToolCallOutcome: Sendable {
    /// The `CallToolResult` bytes exactly as the tool service produced them.
    let result: [UInt8]
    /// The top-level members of `result` (read once, to find `isError` and `_meta` without decoding).
    let members: [JSONMemberRange]
    let backend: String
    let isError: Bool

    /// An outcome whose result bytes must be a JSON object; nil when they are not.
    init?(result: [UInt8], backend: String) {
        guard let members = try? result.withUnsafeBytes({ try JSONParser.members(of: $0) }) else { return nil }
        self.result = result
        self.members = members
        self.backend = backend
        isError = members.last(where: { $0.key == "isError" }).map { result[$0.range].elementsEqual("true".utf8) } ?? false
    }

    /// An outcome whose error flag is already known (a cached or annotated result).
    init(result: [UInt8], backend: String, isError: Bool) {
        self.result = result
        members = (try? result.withUnsafeBytes { try JSONParser.members(of: $0) }) ?? []
        self.backend = backend
        self.isError = isError
    }
}

/// Something a tool reported while it ran: the inner object of a progress or log stream line.
enum ToolEvent: Sendable {
    case progress([UInt8])
    case log(ToolLogLevel, [UInt8])
}

/// Why a tools/call could not reach a tool.
struct ToolRoutingError: Error, Sendable {
    enum Kind: Sendable {
        case unknownTool
        case unavailable
        case cancelled
        /// One replica failed in a way another replica may not (5xx, a cut stream); the call may move on.
        case replicaFailed
    }
    let kind: Kind
    let message: String
    /// The replica that failed last, when one was tried (for telemetry).
    var backend = ""
}

/// The tool-service replicas behind the gateway: the aggregated catalogue and routing by weighted
/// power-of-two-choices on in-flight calls (weights from the learn service's policy, equal without one)
/// that skips replicas which just failed, retrying idempotent calls on another replica.
final class ToolBackends: Sendable {
    private let source: any ReplicaSource
    private let makeClient: @Sendable (String) -> ServiceClient
    private let clients = Mutex<[String: ServiceClient]>([:])
    private let cursor = Atomic<Int>(0)
    /// Learned routing weights per replica URL (``LearnedPolicy``); empty: equal weights.
    private let learnedWeights = Mutex<[String: Double]>([:])
    /// Calls in progress per replica URL.
    private let inFlight = Mutex<[String: Int]>([:])
    private let logger: Logger
    /// How long a fetched catalogue is served before it is read again.
    let catalogTTL: Duration
    private let state = Mutex<CatalogState>(CatalogState())

    private struct CatalogState {
        var tools: [String: ToolEntry] = [:]
        var ordered: [ToolEntry] = []
        var revision = ""
        var fetchedAt: ContinuousClock.Instant?
        /// Replicas that failed recently, with when they may be tried again.
        var resting: [String: ContinuousClock.Instant] = [:]
        /// Definitions already reported as unusable (logged once per revision).
        var reported: Set<String> = []
    }

    /// - Parameter makeClient: builds the client for one replica's base URL (kept and reused).
    init(source: any ReplicaSource, catalogTTL: Duration = .seconds(5), logger: Logger, makeClient: @escaping @Sendable (String) -> ServiceClient) {
        self.source = source
        self.catalogTTL = catalogTTL
        self.logger = logger
        self.makeClient = makeClient
    }

    var sourceDescription: String { source.description }

    /// The revision of the catalogue last read ("" before the first read).
    var revision: String { state.withLock { $0.revision } }

    private func client(for url: String) -> ServiceClient {
        clients.withLock { clients in
            if let existing = clients[url] { return existing }
            let created = makeClient(url)
            clients[url] = created
            return created
        }
    }

    /// Replaces the learned routing weights (empty: equal weights).
    func setWeights(_ weights: [String: Double]) {
        learnedWeights.withLock { $0 = weights }
    }

    /// The weight each replica routes with: its learned weight; a replica the policy does not name (new,
    /// or renamed) gets the mean of the named ones; with no replica named, all are equal.
    static func weights(for replicas: [String], learned: [String: Double]) -> [Double] {
        let known = replicas.compactMap { learned[$0] }.map { max(0, $0) }
        guard !known.isEmpty else { return replicas.map { _ in 1 } }
        let mean = known.reduce(0, +) / Double(known.count)
        return replicas.map { learned[$0].map { max(0, $0) } ?? mean }
    }

    /// Every usable tool, sorted by name, read from a replica at most every `catalogTTL`.
    func tools(forceRefresh: Bool = false) async throws(ToolRoutingError) -> [ToolEntry] {
        if !forceRefresh, let cached = state.withLock({ state -> [ToolEntry]? in
            guard let fetched = state.fetchedAt, ContinuousClock.now - fetched < catalogTTL else { return nil }
            return state.ordered
        }) {
            return cached
        }
        var lastError = "no tool-service replica configured"
        for replica in await ordering() {
            do {
                let listing = try await replica.json(.GET, ToolServiceAPI.toolsPath)
                var entries: [ToolEntry] = []
                var problems: [ToolDefinitionProblem] = []
                for definition in listing["tools"]?.arrayValue ?? [] {
                    switch ToolEntry.make(definition) {
                    case .success(let entry): entries.append(entry)
                    case .failure(let problem): problems.append(problem)
                    }
                }
                entries.sort { $0.name < $1.name }
                let revision = listing["revision"]?.stringValue ?? ""
                let unreported = state.withLock { state -> [ToolDefinitionProblem] in
                    state.ordered = entries
                    state.tools = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
                    state.revision = revision
                    state.fetchedAt = .now
                    let fresh = problems.filter { !state.reported.contains(revision + $0.description) }
                    state.reported.formUnion(fresh.map { revision + $0.description })
                    return fresh
                }
                for problem in unreported {
                    logger.warning("tool left out of tools/list", metadata: ["problem": .string(problem.description), "backend": .string(replica.baseURL)])
                }
                return entries
            } catch {
                if Task.isCancelled { throw ToolRoutingError(kind: .cancelled, message: "the catalogue read was cancelled") }
                markFailed(replica)
                lastError = error.description
            }
        }
        // Serve the last known catalogue rather than nothing.
        let stale = state.withLock { $0.ordered }
        if !stale.isEmpty { return stale }
        throw ToolRoutingError(kind: .unavailable, message: "tool service unavailable: \(lastError)")
    }

    func tool(named name: String) async throws(ToolRoutingError) -> ToolEntry {
        if let known = state.withLock({ $0.tools[name] }) { return known }
        let refreshed = try await tools(forceRefresh: true)
        guard let entry = refreshed.first(where: { $0.name == name }) else {
            throw ToolRoutingError(kind: .unknownTool, message: "Unknown tool: \(name)")
        }
        return entry
    }

    /// Calls a tool on one replica; idempotent tools move on to another replica when one is unreachable.
    ///
    /// With `events`, the call is streamed (`application/x-ndjson`) and each progress or log line is
    /// handed over as it arrives; without, the answer is one JSON body. `callID` names the call
    /// downstream so that ``cancel(callID:)`` can stop it from any gateway replica. `weights` replace the
    /// learned routing weights for this call (a canary experiment's candidate).
    func call(
        _ tool: ToolEntry, arguments: ArraySlice<UInt8>, principal: String, callID: String, timeout: Duration, weights: [String: Double]? = nil,
        events: (@Sendable (ToolEvent) -> Void)? = nil
    ) async throws(ToolRoutingError) -> ToolCallOutcome {
        let body = ToolServiceAPI.callBody(name: tool.name, arguments: arguments)
        let candidates = await ordering(weights: weights)
        var lastError = "no tool-service replica configured"
        var lastBackend = ""
        for (attempt, replica) in candidates.enumerated() {
            if attempt > 0 && !(tool.isIdempotent || tool.isReadOnly) { break }
            let url = replica.baseURL
            lastBackend = url
            inFlight.withLock { $0[url, default: 0] += 1 }
            defer { inFlight.withLock { $0[url, default: 1] -= 1 } }
            do {
                if let events {
                    return try await stream(tool, body: body, replica: replica, principal: principal, callID: callID, timeout: timeout, events: events)
                }
                let response = try await replica.send(
                    .POST, ToolServiceAPI.callPath, body: body, principal: principal, headers: [(ToolServiceAPI.callIDHeader, callID)], timeout: timeout
                )
                return try outcome(status: response.status, body: response.bytes, tool: tool, replica: replica)
            } catch let error as ServiceCallError {
                if Task.isCancelled { throw cancelled(callID, on: replica) }
                lastError = error.description
                if error.code == .timeout {
                    throw ToolRoutingError(kind: .unavailable, message: "\(tool.name) timed out after \(Units.format(timeout))", backend: url)
                }
                markFailed(replica)
            } catch var error as ToolRoutingError {
                if Task.isCancelled || error.kind == .cancelled { throw cancelled(callID, on: replica) }
                error.backend = url
                guard error.kind == .replicaFailed else { throw error }
                lastError = error.message
                markFailed(replica)
            } catch {
                if Task.isCancelled { throw cancelled(callID, on: replica) }
                lastError = "\(error)"
            }
        }
        throw ToolRoutingError(kind: .unavailable, message: "tool service unavailable: \(lastError)", backend: lastBackend)
    }

    /// Reads a streamed call: progress and log lines as they come, then the result line.
    private func stream(
        _ tool: ToolEntry, body: [UInt8], replica: ServiceClient, principal: String, callID: String, timeout: Duration,
        events: @escaping @Sendable (ToolEvent) -> Void
    ) async throws -> ToolCallOutcome {
        try await withThrowingTaskGroup(of: ToolCallOutcome.self) { group in
            group.addTask {
                let response = try await replica.start(
                    .POST, ToolServiceAPI.callPath, body: body, principal: principal,
                    headers: [("Accept", ToolServiceAPI.streamMediaType), (ToolServiceAPI.callIDHeader, callID)], timeout: timeout
                )
                // An error, or a tool service that does not stream, answers with one JSON body.
                guard response.status == .ok, response.headers.first(name: "Content-Type")?.hasPrefix(ToolServiceAPI.streamMediaType) == true else {
                    let collected = try await response.body.collect(upTo: 64 << 20)
                    return try self.outcome(status: Int(response.status.code), body: Array(collected.readableBytesView), tool: tool, replica: replica)
                }
                var pending: [UInt8] = []
                for try await chunk in response.body {
                    pending.append(contentsOf: chunk.readableBytesView)
                    var start = 0
                    while let newline = pending[start...].firstIndex(of: 0x0A) {
                        if let result = try Self.handle(line: pending[start..<newline], replica: replica, events: events) { return result }
                        start = newline + 1
                    }
                    pending.removeFirst(start)
                    guard pending.count <= 64 << 20 else { throw ToolRoutingError(kind: .unavailable, message: "\(replica.baseURL): stream line over 64 MiB") }
                }
                throw ToolRoutingError(kind: .replicaFailed, message: "\(replica.baseURL) closed the call stream without a result")
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ToolRoutingError(kind: .unavailable, message: "\(tool.name) timed out after \(Units.format(timeout))")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// One NDJSON line: forwards progress and log lines, returns the outcome for the result line.
    private static func handle(line: ArraySlice<UInt8>, replica: ServiceClient, events: @Sendable (ToolEvent) -> Void) throws -> ToolCallOutcome? {
        let parsed: ToolStreamLine?
        do {
            parsed = try line.withUnsafeBytes { try ToolStreamLine.parse($0) }
        } catch {
            throw ToolRoutingError(kind: .unavailable, message: "\(replica.baseURL): \(error)")
        }
        switch parsed {
        case .progress(let range):
            events(.progress(Array(line[(line.startIndex + range.lowerBound)..<(line.startIndex + range.upperBound)])))
        case .log(let level, let range):
            events(.log(level, Array(line[(line.startIndex + range.lowerBound)..<(line.startIndex + range.upperBound)])))
        case .result(let range):
            let bytes = Array(line[(line.startIndex + range.lowerBound)..<(line.startIndex + range.upperBound)])
            guard let outcome = ToolCallOutcome(result: bytes, backend: replica.baseURL) else {
                throw ToolRoutingError(kind: .unavailable, message: "\(replica.baseURL): the result is not a JSON object")
            }
            return outcome
        case nil:
            break
        }
        return nil
    }

    /// The outcome of a finished (non-streamed) answer; 5xx answers may be retried elsewhere.
    private func outcome(status: Int, body: [UInt8], tool: ToolEntry, replica: ServiceClient) throws(ToolRoutingError) -> ToolCallOutcome {
        switch status {
        case 200:
            guard let outcome = ToolCallOutcome(result: body, backend: replica.baseURL) else {
                throw ToolRoutingError(kind: .unavailable, message: "\(replica.baseURL): the result is not a JSON object")
            }
            return outcome
        case 404:
            throw ToolRoutingError(kind: .unknownTool, message: "Unknown tool: \(tool.name)")
        default:
            let message = (try? JSONParser.parse(body))?["error"]?["message"]?.stringValue ?? "HTTP \(status)"
            throw ToolRoutingError(kind: status >= 500 ? .replicaFailed : .unavailable, message: message)
        }
    }

    /// The error for a call the caller gave up on, after asking the replica to stop it.
    private func cancelled(_ callID: String, on replica: ServiceClient) -> ToolRoutingError {
        // A new task: this one is cancelled, and the request must still go out.
        Task { _ = try? await replica.send(.POST, ToolServiceAPI.cancelPath(callID: callID), timeout: .seconds(2)) }
        return ToolRoutingError(kind: .cancelled, message: "the call was cancelled")
    }

    /// Asks every replica to cancel `callID` (used when the cancellation reached another gateway replica
    /// than the call); returns how many replicas had it.
    @discardableResult
    func cancel(callID: String) async -> Int {
        var found = 0
        for replica in await source.replicas().map(client(for:)) {
            if let response = try? await replica.send(.POST, ToolServiceAPI.cancelPath(callID: callID), timeout: .seconds(2)), response.status == 202 {
                found += 1
            }
        }
        return found
    }

    /// The replicas to try in order: first the weighted power-of-two choice among those not resting,
    /// then the others in round-robin order, resting ones last.
    private func ordering(weights learned: [String: Double]? = nil) async -> [ServiceClient] {
        let replicas = await source.replicas().map(client(for:))
        guard !replicas.isEmpty else { return [] }
        let start = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        let rotated = (0..<replicas.count).map { replicas[(start + $0) % replicas.count] }
        let now = ContinuousClock.now
        let resting = state.withLock { state in state.resting.filter { $0.value > now } }
        var ordered = rotated.filter { resting[$0.baseURL] == nil }
        let urls = ordered.map(\.baseURL)
        let weights = Self.weights(for: urls, learned: learned ?? learnedWeights.withLock { $0 })
        let busy = inFlight.withLock { counts in urls.map { counts[$0] ?? 0 } }
        var random = SystemRandomNumberGenerator()
        if let chosen = WeightedPowerOfTwo.choose(weights: weights, inFlight: busy, using: &random), chosen > 0 {
            ordered.insert(ordered.remove(at: chosen), at: 0)
        }
        return ordered + rotated.filter { resting[$0.baseURL] != nil }
    }

    private func markFailed(_ replica: ServiceClient) {
        state.withLock { $0.resting[replica.baseURL] = .now + .seconds(2) }
    }
}
