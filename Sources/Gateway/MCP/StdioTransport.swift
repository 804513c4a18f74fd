import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchboardCore

/// `Gateway --stdio`: MCP as newline-delimited JSON-RPC on stdin and stdout, for a client that launches
/// the gateway as a command. Logs stay on stderr. Both eras are served (a request carrying the
/// 2026-07-28 `_meta` envelope is answered statelessly). When stdin ends, requests in progress are
/// answered and the process exits.
struct StdioTransport: Service {
    let server: MCPServer
    let catalogWatch: CatalogWatch
    /// The longest line accepted (`SWITCHBOARD_MAX_BODY`).
    let maxLineSize: Int
    let logger: Logger

    /// The principal stdio requests act for: whoever started the process.
    static let principal = "stdio"

    func run() async throws {
        for (descriptor, name) in [(STDIN_FILENO, "stdin"), (STDOUT_FILENO, "stdout")] {
            var status = stat()
            if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG {
                throw StdioError(description: "--stdio needs \(name) to be a pipe or a terminal, not a regular file (a client launches the gateway with pipes)")
            }
        }
        let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .takingOwnershipOfDescriptors(input: dup(STDIN_FILENO), output: dup(STDOUT_FILENO)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true)
                    )
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            let (lines, sink) = AsyncStream.makeStream(of: [UInt8].self)
            let connection = MCPConnection(
                server: server, catalogWatch: catalogWatch, principal: Self.principal, key: "stdio:\(getpid())", servesModern: true,
                send: { sink.yield($0 + [0x0A]) }
            )
            let subscription = catalogWatch.subscribe(key: nil) { event in
                if case .toolsChanged = event { connection.catalogChanged() }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await line in lines {
                        try await outbound.write(ByteBuffer(bytes: line))
                    }
                }
                await cancelWhenGracefulShutdown {
                    await read(inbound, into: connection)
                }
                catalogWatch.unsubscribe(subscription)
                await connection.drain()
                sink.finish()
                try await group.waitForAll()
            }
        }
        logger.info("stdin closed; stdio session ended")
    }

    /// Splits stdin into lines and hands each message to the connection.
    private func read(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, into connection: MCPConnection) async {
        var pending: [UInt8] = []
        var discarding = false
        do {
            for try await chunk in inbound {
                pending.append(contentsOf: chunk.readableBytesView)
                var start = 0
                while let newline = pending[start...].firstIndex(of: 0x0A) {
                    if discarding {
                        discarding = false
                    } else {
                        handle(Array(pending[start..<newline]), connection: connection)
                    }
                    start = newline + 1
                }
                pending.removeFirst(start)
                if pending.count > maxLineSize {
                    // Refuse an over-long line once, then skip the rest of it.
                    if !discarding {
                        connection.reject(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "message exceeds \(Units.formatBytes(Int64(maxLineSize))) (SWITCHBOARD_MAX_BODY)"), id: nil))
                    }
                    discarding = true
                    pending.removeAll(keepingCapacity: true)
                }
            }
        } catch {
            logger.warning("stdin read failed", metadata: ["error": .string("\(error)")])
        }
        if !discarding, !pending.isEmpty { handle(pending, connection: connection) }
    }

    private func handle(_ line: [UInt8], connection: MCPConnection) {
        var line = line
        if line.last == 0x0D { line.removeLast() }
        guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
        guard !JSONRPCMessage.isBatch(line) else {
            connection.reject(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "batch requests are not supported on this transport"), id: nil))
            return
        }
        switch JSONRPCMessage.parse(line) {
        case .success(let message): connection.receive(message)
        case .failure(let failure): connection.reject(failure)
        }
    }
}

/// Why the stdio transport cannot run.
struct StdioError: Error, CustomStringConvertible {
    let description: String
}
