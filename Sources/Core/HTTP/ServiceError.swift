import HTTPTypes
import Hummingbird
import NIOCore

/// An error a service returns over HTTP: a stable code, a status and a message that says what was wrong.
/// Rendered as `{"error":{"code":"bad_request","message":"…"}}`.
public struct ServiceError: HTTPResponseError, CustomStringConvertible {
    /// The kinds of failure the services report. New codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public let status: HTTPResponse.Status
        public var description: String { name }

        public static let badRequest = Code(name: "bad_request", status: .badRequest)
        public static let unauthorized = Code(name: "unauthorized", status: .unauthorized)
        public static let forbidden = Code(name: "forbidden", status: .forbidden)
        public static let notFound = Code(name: "not_found", status: .notFound)
        public static let conflict = Code(name: "conflict", status: .conflict)
        public static let payloadTooLarge = Code(name: "payload_too_large", status: .contentTooLarge)
        public static let unavailable = Code(name: "unavailable", status: .serviceUnavailable)
        public static let timeout = Code(name: "timeout", status: .gatewayTimeout)
        public static let badGateway = Code(name: "bad_gateway", status: .badGateway)
        public static let `internal` = Code(name: "internal", status: .internalServerError)
    }

    public let code: Code
    public let message: String
    public var status: HTTPResponse.Status { code.status }
    public var description: String { "\(code): \(message)" }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var writer = JSONWriter()
        writer.raw("{\"error\":{\"code\":")
        writer.string(code.name)
        writer.key("message")
        writer.string(message)
        writer.raw("}}")
        return Response.json(writer.bytes, status: status)
    }
}

extension Response {
    /// A response carrying JSON bytes.
    public static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A response carrying a JSON value.
    public static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        json(value.jsonBytes, status: status, headers: headers)
    }
}
