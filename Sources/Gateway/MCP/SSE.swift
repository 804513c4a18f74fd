import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import SwitchboardCore

/// Server-sent-event framing and the body of a long-lived event stream.
enum SSE {
    /// The connection of an event stream is watched for the client leaving, which ends it after the
    /// stream: it is never offered for reuse.
    static let headers: HTTPFields = [
        .contentType: "text/event-stream", .cacheControl: "no-cache, no-transform", .xAccelBuffering: "no", .connection: "close",
    ]
    /// How often an idle stream gets a comment so that proxies keep it open.
    static let keepalive: Duration = .seconds(15)
    static let ping = ByteBuffer(string: ": ping\n\n")

    /// `event: message` with one JSON-RPC message (compact JSON never contains a newline).
    static func message(_ json: some Collection<UInt8>) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(json.count + 24)
        buffer.writeString("event: message\ndata: ")
        buffer.writeBytes(json)
        buffer.writeString("\n\n")
        return buffer
    }

    /// A named event with one line of text.
    static func event(_ name: String, data: String) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(data)\n\n")
    }

    /// A response body writing `frames` until they end, the client hangs up (then `finish` is called)
    /// or the server shuts down (likewise); `onEnd` runs once the stream is over.
    static func body(
        _ frames: AsyncStream<ByteBuffer>, request: Request, finish: @escaping @Sendable () -> Void, onEnd: @escaping @Sendable () async -> Void
    ) -> ResponseBody {
        ResponseBody { writer in
            let watch = DisconnectWatch(request: request, grace: .zero, onDisconnect: finish)
            await withGracefulShutdownHandler {
                for await frame in frames {
                    do {
                        try await writer.write(frame)
                    } catch {
                        break
                    }
                }
            } onGracefulShutdown: {
                finish()
            }
            finish()
            await watch.stop()
            await onEnd()
            try await writer.finish(nil)
        }
    }
}
