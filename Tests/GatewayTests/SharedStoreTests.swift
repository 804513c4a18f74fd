import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Gateway

@Suite(.serialized)
struct SharedStoreTests {
    func withStore(_ kind: StoreKind, _ body: @Sendable (any SharedStore) async throws -> Void) async throws {
        switch kind {
        case .memory:
            try await body(MemorySharedStore())
        case .redis:
            try await RedisServer.with { server in
                let client = try CacheTestSupport.redisClient(server.url)
                try await body(RedisSharedStore(client: client))
                await client.close()
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func valuesExpireAndLeasesGoToOneCaller(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.set("session", Array("state".utf8), ttl: .milliseconds(300))
            #expect(try await store.get("session") == Array("state".utf8))
            #expect(try await store.get("other") == nil)
            try await store.delete("session")
            #expect(try await store.get("session") == nil)
            try await store.set("short", [1], ttl: .milliseconds(150))
            #expect(try await store.claim("lease", ttl: .milliseconds(200)))
            #expect(try await store.claim("lease", ttl: .milliseconds(200)) == false)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await store.get("short") == nil)
            #expect(try await store.claim("lease", ttl: .milliseconds(200)))
        }
    }
}
