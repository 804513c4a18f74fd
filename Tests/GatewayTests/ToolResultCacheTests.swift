import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

/// The result cache over both stores: in-process and a real redis-server.
@Suite(.serialized)
struct ToolResultCacheTests {
    typealias Support = CacheTestSupport
    let read = Support.tool("read_file")
    let list = Support.tool("list_directory")
    let write = Support.tool("write_file", readOnly: false, properties: ["path", "content"])

    func args(_ json: String) -> ArraySlice<UInt8> { Array(json.utf8)[...] }

    @Test(arguments: StoreKind.allCases)
    func aRepeatedCallIsServedFromTheCache(kind: StoreKind) async throws {
        try await Support.withCache(kind) { cache, _, registry in
            let backend = CountingBackend()
            let first = try await cache.serve(tool: read, arguments: args(#"{"path":"a.txt","offset":1}"#), principal: "alice") { try await backend.run() }
            #expect(first.status == .miss)
            #expect(first.meta?["status"] == "miss")
            // Member order does not matter: the key uses canonical arguments.
            let second = try await cache.serve(tool: read, arguments: args(#"{ "offset": 1, "path": "a.txt" }"#), principal: "alice") { try await backend.run() }
            #expect(second.status == .hit)
            #expect(second.text == "call 1")
            #expect(second.outcome.backend == "cache")
            #expect(second.meta?["status"] == "hit")
            #expect((second.meta?["ageSeconds"]?.doubleValue ?? -1) >= 0)
            #expect(backend.calls == 1)
            let other = try await cache.serve(tool: read, arguments: args(#"{"path":"b.txt","offset":1}"#), principal: "alice") { try await backend.run() }
            #expect(other.status == .miss)
            #expect(Support.metric(registry, #"switchboard_cache_lookups_total{tool="read_file",result="hit"}"#) == 1)
            #expect(Support.metric(registry, #"switchboard_cache_lookups_total{tool="read_file",result="miss"}"#) == 2)
            #expect(Support.metric(registry, #"switchboard_cache_stores_total{outcome="stored"}"#) == 2)
            #expect(try await cache.store.count() == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func entriesExpireAfterTheToolsTTL(kind: StoreKind) async throws {
        let policy = CachePolicy(defaultTTL: .seconds(30), rules: ["read_file": .init(ttl: .milliseconds(300), scope: .principal)], maxResultBytes: 65536)
        try await Support.withCache(kind, policy: policy) { cache, _, _ in
            let backend = CountingBackend()
            let call = { try await cache.serve(tool: read, arguments: args(#"{"path":"a"}"#), principal: "p") { try await backend.run() } }
            #expect(try await call().status == .miss)
            #expect(try await call().status == .hit)
            try await Task.sleep(for: .milliseconds(450))
            let expired = try await call()
            #expect(expired.status == .miss)
            #expect(expired.text == "call 2")
            // Another tool keeps the default TTL.
            #expect(try await cache.serve(tool: list, arguments: args(#"{"path":"a"}"#), principal: "p") { try await backend.run() }.status == .miss)
            try await Task.sleep(for: .milliseconds(350))
            #expect(try await cache.serve(tool: list, arguments: args(#"{"path":"a"}"#), principal: "p") { try await backend.run() }.status == .hit)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func entriesArePerPrincipalUnlessTheToolIsShared(kind: StoreKind) async throws {
        let policy = CachePolicy(defaultTTL: .seconds(30), rules: ["list_directory": .init(ttl: .seconds(30), scope: .shared)], maxResultBytes: 65536)
        try await Support.withCache(kind, policy: policy) { cache, _, _ in
            let backend = CountingBackend()
            _ = try await cache.serve(tool: read, arguments: args(#"{"path":"a"}"#), principal: "alice") { try await backend.run() }
            #expect(try await cache.serve(tool: read, arguments: args(#"{"path":"a"}"#), principal: "bob") { try await backend.run() }.status == .miss)
            _ = try await cache.serve(tool: list, arguments: args(#"{"path":"a"}"#), principal: "alice") { try await backend.run() }
            #expect(try await cache.serve(tool: list, arguments: args(#"{"path":"a"}"#), principal: "bob") { try await backend.run() }.status == .hit)
            #expect(backend.calls == 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWriteInvalidatesTheFileItsDirectoriesListingsButNotSiblings(kind: StoreKind) async throws {
        try await Support.withCache(kind) { cache, _, registry in
            let backend = CountingBackend()
            let reads: [(ToolEntry, String)] = [
                (read, #"{"path":"a/b/c.txt"}"#), (read, #"{"path":"a/b/d.txt"}"#), (list, #"{"path":"a/b"}"#),
                (list, #"{"path":"a"}"#), (list, #"{"path":"."}"#), (list, #"{"path":"x"}"#), (read, #"{"path":"a/bc.txt"}"#),
            ]
            for (tool, arguments) in reads { _ = try await cache.serve(tool: tool, arguments: args(arguments), principal: "p") { try await backend.run() } }
            let written = try await cache.serve(tool: write, arguments: args(#"{"path":"./a/b//c.txt","content":"new"}"#), principal: "p") { try await backend.run() }
            #expect(written.status == nil)
            var statuses: [String: ToolResultCache.Status?] = [:]
            for (tool, arguments) in reads {
                statuses[tool.name + arguments] = try await cache.serve(tool: tool, arguments: args(arguments), principal: "p") { try await backend.run() }.status
            }
            #expect(statuses["read_file" + #"{"path":"a/b/c.txt"}"#] == .miss)
            #expect(statuses["list_directory" + #"{"path":"a/b"}"#] == .miss)
            #expect(statuses["list_directory" + #"{"path":"a"}"#] == .miss)
            #expect(statuses["list_directory" + #"{"path":"."}"#] == .miss)
            #expect(statuses["read_file" + #"{"path":"a/b/d.txt"}"#] == .hit)
            #expect(statuses["list_directory" + #"{"path":"x"}"#] == .hit)
            #expect(statuses["read_file" + #"{"path":"a/bc.txt"}"#] == .hit)
            #expect(Support.metric(registry, "switchboard_cache_invalidated_entries_total") == 4)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func commandsAndMovesInvalidateWholeDirectories(kind: StoreKind) async throws {
        try await Support.withCache(kind, workspace: "/ws") { cache, _, _ in
            let backend = CountingBackend()
            let command = Support.tool("execute_command", readOnly: false, properties: ["command", "cwd"])
            let move = Support.tool("move_file", readOnly: false, properties: ["source", "destination"])
            func serve(_ tool: ToolEntry, _ arguments: String) async throws -> ToolResultCache.Status? {
                try await cache.serve(tool: tool, arguments: args(arguments), principal: "p") { try await backend.run() }.status
            }
            _ = try await serve(read, #"{"path":"src/app/main.swift"}"#)
            _ = try await serve(read, #"{"path":"docs/x.md"}"#)
            // A command run in src/ may have changed anything below it.
            _ = try await serve(command, #"{"command":"make","cwd":"src"}"#)
            #expect(try await serve(read, #"{"path":"src/app/main.swift"}"#) == .miss)
            #expect(try await serve(read, #"{"path":"docs/x.md"}"#) == .hit)
            // A move invalidates its source and its destination; an absolute path inside the workspace
            // names the same file as the relative one.
            _ = try await serve(read, #"{"path":"docs/y.md"}"#)
            _ = try await serve(move, #"{"source":"/ws/docs/x.md","destination":"docs/y.md"}"#)
            #expect(try await serve(read, #"{"path":"docs/x.md"}"#) == .miss)
            #expect(try await serve(read, #"{"path":"docs/y.md"}"#) == .miss)
            // A command without cwd runs in the workspace root: everything path-tagged goes.
            _ = try await serve(command, #"{"command":"make"}"#)
            #expect(try await serve(read, #"{"path":"src/app/main.swift"}"#) == .miss)
            #expect(try await serve(read, #"{"path":"docs/y.md"}"#) == .miss)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func identicalMissesInFlightRunTheToolOnce(kind: StoreKind) async throws {
        try await Support.withCache(kind) { cache, _, registry in
            let backend = CountingBackend(delay: .milliseconds(500))
            let read = read
            let statuses = try await withThrowingTaskGroup(of: ToolResultCache.Status?.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await cache.serve(tool: read, arguments: Array(#"{"path":"slow"}"#.utf8)[...], principal: "p") { try await backend.run() }.status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(backend.calls == 1)
            #expect(statuses.filter { $0 == .miss }.count == 1)
            // Callers that looked up after the result was stored (a slow scheduler) hit instead of joining.
            let coalesced = statuses.filter { $0 == .coalesced }.count
            #expect(coalesced >= 1 && coalesced + statuses.filter { $0 == .hit }.count == 19)
            #expect(Support.metric(registry, #"switchboard_cache_lookups_total{tool="read_file",result="coalesced"}"#) == Double(coalesced))
            #expect(try await cache.serve(tool: read, arguments: args(#"{"path":"slow"}"#), principal: "p") { try await backend.run() }.status == .hit)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func errorsAndOversizedResultsAreNeverCached(kind: StoreKind) async throws {
        let policy = CachePolicy(defaultTTL: .seconds(30), maxResultBytes: 200)
        try await Support.withCache(kind, policy: policy) { cache, _, registry in
            let failing = CountingBackend(isError: true)
            for _ in 0..<2 {
                let served = try await cache.serve(tool: read, arguments: args(#"{"path":"e"}"#), principal: "p") { try await failing.run() }
                #expect(served.status == .miss)
                #expect(served.outcome.isError)
            }
            #expect(failing.calls == 2)
            let big = CountingBackend(size: 500)
            for _ in 0..<2 { _ = try await cache.serve(tool: read, arguments: args(#"{"path":"big"}"#), principal: "p") { try await big.run() } }
            #expect(big.calls == 2)
            // A thrown routing error is not cached either, and propagates unchanged.
            await #expect(throws: ToolRoutingError.self) {
                try await cache.serve(tool: read, arguments: args(#"{"path":"down"}"#), principal: "p") {
                    throw ToolRoutingError(kind: .unavailable, message: "tool service unavailable")
                }
            }
            #expect(Support.metric(registry, #"switchboard_cache_stores_total{outcome="error_result"}"#) == 2)
            #expect(Support.metric(registry, #"switchboard_cache_stores_total{outcome="too_large"}"#) == 2)
            #expect(try await cache.store.count() == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aBypassSkipsTheLookupAndRefreshesTheEntry(kind: StoreKind) async throws {
        try await Support.withCache(kind) { cache, _, _ in
            let backend = CountingBackend()
            _ = try await cache.serve(tool: read, arguments: args(#"{"path":"a"}"#), principal: "p") { try await backend.run() }
            let bypassed = try await cache.serve(tool: read, arguments: args(#"{"path":"a"}"#), principal: "p", bypass: true) { try await backend.run() }
            #expect(bypassed.status == .bypass)
            #expect(bypassed.text == "call 2")
            let after = try await cache.serve(tool: read, arguments: args(#"{"path":"a"}"#), principal: "p") { try await backend.run() }
            #expect(after.status == .hit)
            #expect(after.text == "call 2")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aResultComputedWhileAWriteInvalidatedIsNotStored(kind: StoreKind) async throws {
        try await Support.withCache(kind) { cache, _, registry in
            let backend = CountingBackend()
            let write = write
            let raced = try await cache.serve(tool: read, arguments: args(#"{"path":"a.txt"}"#), principal: "p") {
                // The file changes while the read runs.
                _ = try await cache.serve(tool: write, arguments: Array(#"{"path":"a.txt","content":"x"}"#.utf8)[...], principal: "p") { try await backend.run() }
                return try await backend.run()
            }
            #expect(raced.status == .miss)
            #expect(Support.metric(registry, #"switchboard_cache_stores_total{outcome="raced"}"#) == 1)
            #expect(try await cache.serve(tool: read, arguments: args(#"{"path":"a.txt"}"#), principal: "p") { try await backend.run() }.status == .miss)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anIdempotentWriteIsRepeatedFromTheCacheUntilAnotherWriteTouchesItsPath(kind: StoreKind) async throws {
        try await Support.withCache(kind) { cache, _, _ in
            let backend = CountingBackend()
            let put = Support.tool("put_file", readOnly: false, idempotent: true, properties: ["path", "content"])
            func serve(_ tool: ToolEntry, _ arguments: String) async throws -> ToolResultCache.Status? {
                try await cache.serve(tool: tool, arguments: args(arguments), principal: "p") { try await backend.run() }.status
            }
            let first = try await serve(put, #"{"path":"f","content":"A"}"#)
            #expect(first == .miss)
            #expect(try await serve(put, #"{"path":"f","content":"A"}"#) == .hit)
            #expect(try await serve(write, #"{"path":"f","content":"B"}"#) == nil)
            #expect(try await serve(put, #"{"path":"f","content":"A"}"#) == .miss)
            #expect(backend.calls == 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func toolsThatAreNotCacheablePassThroughUntouched(kind: StoreKind) async throws {
        let policy = CachePolicy(defaultTTL: .seconds(30), rules: ["list_directory": .init(ttl: .zero, scope: .principal)], maxResultBytes: 65536)
        try await Support.withCache(kind, policy: policy) { cache, _, _ in
            let backend = CountingBackend()
            let plain = Support.tool("plain_read", readOnly: false, properties: ["query"])
            for tool in [plain, list] {
                let served = try await cache.serve(tool: tool, arguments: args(#"{"query":"q","path":"p"}"#), principal: "p") { try await backend.run() }
                #expect(served.status == nil)
                #expect(served.meta == nil)
                #expect(try JSONParser.parse(served.outcome.result)["_meta"] == nil)
            }
            // A configured TTL makes an unannotated tool cacheable.
            cache.setTTL(.seconds(10), for: "plain_read")
            _ = try await cache.serve(tool: plain, arguments: args(#"{"query":"q"}"#), principal: "p") { try await backend.run() }
            #expect(try await cache.serve(tool: plain, arguments: args(#"{"query":"q"}"#), principal: "p") { try await backend.run() }.status == .hit)
        }
    }

    /// A hung Redis (SIGSTOP) keeps its data: an invalidation that could not be applied meanwhile must be
    /// replayed before the cache serves again, or the stale entry would come back.
    @Test func invalidationsDuringAnOutageAreReplayedBeforeTheCacheIsUsedAgain() async throws {
        try await Support.withCache(.redis) { cache, server, registry in
            let server = try #require(server)
            let backend = CountingBackend()
            func serve(_ tool: ToolEntry, _ arguments: String) async throws -> ToolResultCache.Served {
                try await cache.serve(tool: tool, arguments: args(arguments), principal: "p") { try await backend.run() }
            }
            _ = try await serve(read, #"{"path":"doc.txt"}"#)
            #expect(try await serve(read, #"{"path":"doc.txt"}"#).status == .hit)
            server.signal(SIGSTOP)
            let written = try await serve(write, #"{"path":"doc.txt","content":"new"}"#)
            #expect(written.text != nil)
            let during = try await serve(read, #"{"path":"doc.txt"}"#)
            #expect(during.status == .unavailable)
            #expect(during.meta?["status"] == "unavailable")
            server.signal(SIGCONT)
            var after: ToolResultCache.Served?
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                after = try await serve(read, #"{"path":"doc.txt"}"#)
                if after?.status != .unavailable { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(after?.status == .miss, "the entry cached before the write must be gone")
            #expect(Support.metric(registry, "switchboard_cache_invalidations_total") >= 1)
        }
    }
}
