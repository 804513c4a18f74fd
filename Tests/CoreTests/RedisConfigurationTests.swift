import Testing

@testable import SwitchboardCore

struct RedisConfigurationTests {
    @Test func parsesTCPURLs() throws {
        let plain = try RedisConfiguration(url: "redis://cache.internal:6380/2")
        #expect(plain.endpoint == .tcp(host: "cache.internal", port: 6380))
        #expect(plain.database == 2)
        #expect(plain.password == nil)
        let defaults = try RedisConfiguration(url: "redis://")
        #expect(defaults.endpoint == .tcp(host: "127.0.0.1", port: 6379))
        #expect(defaults.database == 0)
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:7000")
        #expect(ipv6.endpoint == .tcp(host: "::1", port: 7000))
        #expect(ipv6.displayName == "redis://[::1]:7000/0")
    }

    @Test func parsesCredentials() throws {
        let passwordOnly = try RedisConfiguration(url: "redis://:s%40cret@localhost")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "s@cret")
        let legacy = try RedisConfiguration(url: "redis://hunter2@localhost:6379")
        #expect(legacy.password == "hunter2")
        let acl = try RedisConfiguration(url: "redis://alice:p%3Aw@10.0.0.5/1")
        #expect(acl.username == "alice")
        #expect(acl.password == "p:w")
        #expect(acl.database == 1)
        #expect(!acl.displayName.contains("p:w"))
    }

    @Test func parsesUnixSocketURLs() throws {
        let socket = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=3")
        #expect(socket.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(socket.database == 3)
        let secured = try RedisConfiguration(url: "unix://:pw@/tmp/r.sock")
        #expect(secured.password == "pw")
        #expect(secured.endpoint == .unix(path: "/tmp/r.sock"))
    }

    @Test(arguments: [
        ("localhost:6379", "expected redis://host:port/db"),
        ("http://localhost", "unsupported scheme 'http'"),
        ("rediss://localhost", "TLS (rediss://) is not supported"),
        ("redis://localhost:99999", "port '99999' is not a number from 1 to 65535"),
        ("redis://localhost/x", "database 'x' is not a non-negative integer"),
        ("redis://localhost?timeout=1", "unknown parameter 'timeout'"),
        ("unix://relative.sock", "expected an absolute socket path"),
        ("redis://[::1", "unterminated IPv6 address"),
    ])
    func rejectsBadURLsSayingWhatIsWrong(url: String, reason: String) {
        #expect {
            try RedisConfiguration(url: url)
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .configuration && error.message.contains(reason)
        }
    }

    @Test func errorsNeverShowThePassword() {
        #expect {
            try RedisConfiguration(url: "redis://user:topsecret@host:notaport")
        } throws: { error in
            "\(error)".contains("***") && !"\(error)".contains("topsecret")
        }
    }
}
