import NIOCore
import NIOHTTP1
import NIOPosix

/// Forwards each request of one inbound connection over its own keep-alive upstream connection, opened on
/// the same event loop when the inbound one opens, and writes the upstream's answer back. One request at a
/// time per connection (NIO's pipelining handler holds back the next until the answer is written).
final class FloorRelay: ChannelInboundHandler, @unchecked Sendable {  // used only on its channel's event loop
    typealias InboundIn = HTTPServerRequestPart

    private let upstreamPort: Int
    private var upstream: EventLoopFuture<any Channel>?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    init(upstreamPort: Int) {
        self.upstreamPort = upstreamPort
    }

    func channelActive(context: ChannelHandlerContext) {
        let answers = AnswerRelay(inbound: context.channel)
        upstream = ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(answers)
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
        upstream?.whenFailure { [channel = context.channel] _ in channel.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.whenSuccess { $0.close(promise: nil) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
            body = nil
        case .body(let chunk):
            body.collect(chunk)
        case .end:
            guard let received = head, let upstream else { return }
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "127.0.0.1:\(upstreamPort)")
            headers.add(name: "Content-Type", value: received.headers["Content-Type"].first ?? "application/json")
            headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0))
            let forwarded = HTTPRequestHead(version: .http1_1, method: received.method, uri: received.uri, headers: headers)
            let body = self.body
            upstream.whenSuccess { channel in
                channel.write(HTTPClientRequestPart.head(forwarded), promise: nil)
                if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            }
        }
    }
}

/// The upstream side of a ``FloorRelay``: writes each complete answer to the inbound connection.
final class AnswerRelay: ChannelInboundHandler, @unchecked Sendable {  // used only on its channel's event loop
    typealias InboundIn = HTTPClientResponsePart

    private let inbound: any Channel
    private var status: HTTPResponseStatus = .ok
    private var body: ByteBuffer?

    init(inbound: any Channel) {
        self.inbound = inbound
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
            body = nil
        case .body(let chunk):
            body.collect(chunk)
        case .end:
            inbound.write(HTTPServerResponsePart.head(.json(status, length: body?.readableBytes ?? 0)), promise: nil)
            if let body { inbound.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil) }
            inbound.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbound.close(promise: nil)
        context.fireChannelInactive()
    }
}
