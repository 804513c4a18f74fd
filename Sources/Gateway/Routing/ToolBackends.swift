import Foundation
import NIOHTTP1
import Synchronization
import SwitchboardCore

/// A tool known from a backend's catalogue.
struct ToolEntry: Sendable {
    let name: String
    /// The MCP `Tool` object as the backend published it.
    let definition: JSONValue
    var isReadOnly: Bool { definition["annotations"]?["readOnlyHint"]?.boolValue ?? false }
    var isIdempotent: Bool { definition["annotations"]?["idempotentHint"]?.boolValue ?? false }
}

/// Where a tools/call went and what came back.
struct ToolCallOutcome: Sendable {
    /// The `CallToolResult` bytes exactly as the tool service produced them.
    let result: [UInt8]
    let backend: String
    let isError: Bool
}

/// Why a tools/call could not reach a tool.
struct ToolRoutingError: Error, Sendable {
    enum Kind: Sendable {
        case unknownTool
        case unavailable
    }
    let kind: Kind
    let message: String
}

/// The tool-service replicas behind the gateway: the aggregated catalogue and round-robin routing
/// that skips replicas which just failed, retrying idempotent calls on another replica.
final class ToolBackends: Sendable {
    private let source: any ReplicaSource
    private let makeClient: @Sendable (String) -> ServiceClient
    private let clients = Mutex<[String: ServiceClient]>([:])
    private let cursor = Atomic<Int>(0)
    private let catalogTTL: Duration
    private let state = Mutex<CatalogState>(CatalogState())

    private struct CatalogState {
        var tools: [String: ToolEntry] = [:]
        var ordered: [ToolEntry] = []
        var fetchedAt: ContinuousClock.Instant?
        /// Replicas that failed recently, with when they may be tried again.
        var resting: [String: ContinuousClock.Instant] = [:]
    }

    /// - Parameter makeClient: builds the client for one replica's base URL (kept and reused).
    init(source: any ReplicaSource, catalogTTL: Duration = .seconds(5), makeClient: @escaping @Sendable (String) -> ServiceClient) {
        self.source = source
        self.catalogTTL = catalogTTL
        self.makeClient = makeClient
    }

    var sourceDescription: String { source.description }

    private func client(for url: String) -> ServiceClient {
        clients.withLock { clients in
            if let existing = clients[url] { return existing }
            let created = makeClient(url)
            clients[url] = created
            return created
        }
    }

    /// Every tool, sorted by name, refreshed from a replica at most every `catalogTTL`.
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
                let entries = (listing["tools"]?.arrayValue ?? []).compactMap { tool -> ToolEntry? in
                    guard let name = tool["name"]?.stringValue else { return nil }
                    return ToolEntry(name: name, definition: tool)
                }.sorted { $0.name < $1.name }
                state.withLock { state in
                    state.ordered = entries
                    state.tools = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                    state.fetchedAt = .now
                }
                return entries
            } catch {
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
    func call(_ tool: ToolEntry, arguments: ArraySlice<UInt8>, principal: String, timeout: Duration) async throws(ToolRoutingError) -> ToolCallOutcome {
        let body = ToolServiceAPI.callBody(name: tool.name, arguments: arguments)
        let candidates = await ordering()
        var lastError = "no tool-service replica configured"
        for (attempt, replica) in candidates.enumerated() {
            if attempt > 0 && !(tool.isIdempotent || tool.isReadOnly) { break }
            do {
                let response = try await replica.send(.POST, ToolServiceAPI.callPath, body: body, principal: principal, timeout: timeout)
                switch response.status {
                case 200:
                    let bytes = response.bytes
                    return ToolCallOutcome(result: bytes, backend: replica.baseURL, isError: Self.isErrorResult(bytes))
                case 404:
                    throw ToolRoutingError(kind: .unknownTool, message: "Unknown tool: \(tool.name)")
                default:
                    let message = (try? response.json())?["error"]?["message"]?.stringValue ?? "HTTP \(response.status)"
                    lastError = message
                    if response.status < 500 { throw ToolRoutingError(kind: .unavailable, message: message) }
                    markFailed(replica)
                }
            } catch let error as ServiceCallError {
                lastError = error.description
                if error.code == .timeout { throw ToolRoutingError(kind: .unavailable, message: "\(tool.name) timed out after \(Units.format(timeout))") }
                markFailed(replica)
            } catch let error as ToolRoutingError {
                throw error
            } catch {
                lastError = "\(error)"
            }
        }
        throw ToolRoutingError(kind: .unavailable, message: "tool service unavailable: \(lastError)")
    }

    /// Replicas in round-robin order, resting ones last.
    private func ordering() async -> [ServiceClient] {
        let replicas = await source.replicas().map(client(for:))
        guard !replicas.isEmpty else { return [] }
        let start = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        let rotated = (0..<replicas.count).map { replicas[(start + $0) % replicas.count] }
        let now = ContinuousClock.now
        let resting = state.withLock { state in state.resting.filter { $0.value > now } }
        return rotated.filter { resting[$0.baseURL] == nil } + rotated.filter { resting[$0.baseURL] != nil }
    }

    private func markFailed(_ replica: ServiceClient) {
        state.withLock { $0.resting[replica.baseURL] = .now + .seconds(2) }
    }

    /// Whether a CallToolResult says `"isError":true` at its top level.
    static func isErrorResult(_ bytes: [UInt8]) -> Bool {
        guard let members = try? bytes.withUnsafeBytes({ try JSONParser.members(of: $0) }),
            let member = members.last(where: { $0.key == "isError" })
        else { return false }
        return bytes[member.range].elementsEqual("true".utf8)
    }
}
