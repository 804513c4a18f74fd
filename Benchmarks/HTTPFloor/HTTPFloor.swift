#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import NIOCore
import NIOHTTP1
import NIOPosix

/// The floor under the gateway benchmark: a minimal HTTP chain on this machine, to read the gateway's
/// numbers against. No MCP, JSON, authentication or Swift concurrency: SwiftNIO channel handlers only.
///
///     HTTPFloor server PORT                answers every request with a fixed tools/call result
///     HTTPFloor relay PORT UPSTREAM_PORT   forwards every request to 127.0.0.1:UPSTREAM_PORT and relays the answer
///
/// `relay` in front of `server` is two processes and two HTTP exchanges per call, as the gateway in front of
/// the tool service is; `bench/gateway_bench.py` measures both next to the gateway.
@main
enum HTTPFloor {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let role = arguments.first, let port = arguments.dropFirst().first.flatMap({ Int($0) }) else {
            fail("usage: HTTPFloor server PORT | HTTPFloor relay PORT UPSTREAM_PORT")
        }
        let initializer: @Sendable (any Channel) throws -> Void
        switch role {
        case "server":
            initializer = { try $0.pipeline.syncOperations.addHandler(FloorServer()) }
        case "relay":
            guard let upstream = arguments.dropFirst(2).first.flatMap({ Int($0) }) else { fail("relay needs UPSTREAM_PORT") }
            initializer = { try $0.pipeline.syncOperations.addHandler(FloorRelay(upstreamPort: upstream)) }
        default:
            fail("unknown role \(role): use server or relay")
        }
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try initializer(channel)
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
        try channel.closeFuture.wait()
    }

    static func fail(_ message: String) -> Never {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(64)
    }
}

extension HTTPResponseHead {
    /// The head of a JSON answer of `length` bytes; `close` ends the connection after it.
    static func json(_ status: HTTPResponseStatus, length: Int, close: Bool = false) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(length))
        if close { headers.add(name: "Connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    }
}

extension Optional where Wrapped == ByteBuffer {
    /// Appends one chunk of a message body being collected.
    mutating func collect(_ chunk: ByteBuffer) {
        var chunk = chunk
        if self == nil { self = chunk } else { self?.writeBuffer(&chunk) }
    }
}
