import CHiredis
import Testing

@testable import SwitchboardCore

/// Reply decoding: RESP bytes parsed by hiredis's own reader into `redisReply` trees, then copied into ``RedisValue``.
struct RedisValueTests {
    /// Feeds `resp` to a hiredis reader (in chunks of `chunk` bytes) and decodes every complete reply.
    func decode(_ resp: String, chunk: Int = .max) throws -> [RedisValue] {
        try decode(Array(resp.utf8), chunk: chunk)
    }

    func decode(_ bytes: [UInt8], chunk: Int = .max) throws -> [RedisValue] {
        let reader = try #require(redisReaderCreate())
        defer { redisReaderFree(reader) }
        var values: [RedisValue] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            let status = bytes[offset..<end].withUnsafeBytes { redisReaderFeed(reader, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
            #expect(status == REDIS_OK)
            offset = end
            while true {
                var raw: UnsafeMutableRawPointer?
                guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
                    let message = withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    throw RedisError(.io, message)
                }
                guard let raw else { break }
                values.append(RedisValue(reply: raw.assumingMemoryBound(to: redisReply.self)))
                freeReplyObject(raw)
            }
        }
        return values
    }

    @Test func scalarRepliesDecodeToTheirKinds() throws {
        let values = try decode("+OK\r\n-ERR unknown command 'FOO'\r\n:42\r\n:-9223372036854775807\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n")
        #expect(values == [
            .simpleString("OK"), .error("ERR unknown command 'FOO'"), .integer(42), .integer(-9_223_372_036_854_775_807),
            .bulkString(Array("hello".utf8)), .bulkString([]), .null,
        ])
        #expect(values[0].string == "OK")
        #expect(values[1].errorMessage == "ERR unknown command 'FOO'")
        #expect(values[2].integer == 42)
        #expect(values[4].string == "hello")
        #expect(values[6].isNull)
    }

    @Test func bulkStringsAreBinarySafe() throws {
        let payload: [UInt8] = [0, 13, 10, 255, 36, 45, 49, 13, 10, 0]
        let values = try decode(Array("$10\r\n".utf8) + payload + Array("\r\n".utf8))
        #expect(values == [.bulkString(payload)])
        #expect(values[0].bytes == payload)
    }

    @Test func arraysNestAndKeepNilElements() throws {
        let values = try decode("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n*0\r\n*-1\r\n")
        #expect(values == [.array([.integer(1), .array([.bulkString([97]), .null]), .array([])]), .null])
        #expect(values[0].array?.count == 3)
    }

    @Test func repliesSplitAcrossReadsDecodeTheSame() throws {
        let resp = "*2\r\n$5\r\nhello\r\n:7\r\n+PONG\r\n"
        #expect(try decode(resp, chunk: 1) == decode(resp))
        #expect(try decode(resp, chunk: 3) == [.array([.bulkString(Array("hello".utf8)), .integer(7)]), .simpleString("PONG")])
    }

    @Test func aCounterStoredAsABulkStringReadsAsAnInteger() throws {
        #expect(try decode("$3\r\n123\r\n")[0].integer == 123)
        #expect(try decode("$3\r\nabc\r\n")[0].integer == nil)
    }

    @Test func protocolGarbageIsAnError() throws {
        #expect(throws: RedisError.self) { try decode("?what\r\n") }
    }
}
