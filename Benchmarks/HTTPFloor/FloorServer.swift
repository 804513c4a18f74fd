import NIOCore
import NIOHTTP1

/// Answers every request, once its body is read, with the JSON-RPC result the gateway returns for the
/// benchmark's tool, so that both answer with bodies of the same size.
final class FloorServer: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let result = Array(
        #"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","content":[{"type":"text","text":"This is a simple text response for testing."}],"isError":false,"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"switchboard","version":"1.0.0"}}}}"#
            .utf8
    )

    private var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            context.write(wrapOutboundOut(.head(.json(.ok, length: Self.result.count, close: !keepAlive))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: Self.result)))), promise: nil)
            let keepAlive = self.keepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
