import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Why a call to another service failed.
public struct ServiceCallError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }
        /// Could not connect (refused, reset, DNS).
        public static let unreachable = Code(name: "unreachable")
        public static let timeout = Code(name: "timeout")
        /// The service answered with a status outside 2xx.
        public static let status = Code(name: "status")
        /// The answer could not be understood.
        public static let invalidResponse = Code(name: "invalid_response")
    }

    public let code: Code
    public let target: String
    public let message: String
    /// The HTTP status when `code == .status`.
    public let status: Int?
    public var description: String { "\(target): \(message)" }
}

/// An HTTP answer from another service.
public struct ServiceResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: ByteBuffer
    /// Whether the connection it came on may carry another request.
    let keepAlive: Bool

    init(status: Int, headers: HTTPHeaders, body: ByteBuffer, keepAlive: Bool = true) {
        self.status = status
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }

    public var bytes: [UInt8] { Array(body.readableBytesView) }

    public func json() throws -> JSONValue {
        try JSONParser.parse(body)
    }
}

/// The typed inter-service client: pooled keep-alive connections (made from an ``HTTPClientService``: its
/// ``ServiceConnectionPool`` for answers read whole over plain `http://`, AsyncHTTPClient otherwise), a timeout
/// per call, `X-Request-ID` propagated from the current request, and the suite's service secret as the
/// credential. It never carries a client's token.
public struct ServiceClient: Sendable {
    public let baseURL: String
    private let clients: Clients
    /// Where `send` connects on the service's own connection pool: set for plain `http://` base URLs.
    private let origin: Origin?
    private let secret: String
    private let timeout: Duration
    /// Largest answer accepted.
    private let maxResponseBytes: Int

    /// Where requests go out: one client, or the service's client of the caller's event loop.
    private enum Clients: Sendable {
        case one(HTTPClient)
        case perLoop(HTTPClientService)

        var current: HTTPClient {
            switch self {
            case .one(let client): client
            case .perLoop(let service): service.clientOnCurrentLoop
            }
        }
    }

    public init(baseURL: String, httpClient: HTTPClient, secret: String, timeout: Duration = .seconds(30), maxResponseBytes: Int = 64 << 20) {
        self.init(baseURL: baseURL, clients: .one(httpClient), secret: secret, timeout: timeout, maxResponseBytes: maxResponseBytes)
    }

    /// Requests go out on the client of the event loop they are made on (``HTTPClientService/clientOnCurrentLoop``).
    public init(baseURL: String, http: HTTPClientService, secret: String, timeout: Duration = .seconds(30), maxResponseBytes: Int = 64 << 20) {
        self.init(baseURL: baseURL, clients: .perLoop(http), secret: secret, timeout: timeout, maxResponseBytes: maxResponseBytes)
    }

    private init(baseURL: String, clients: Clients, secret: String, timeout: Duration, maxResponseBytes: Int) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        origin = Origin(self.baseURL)
        self.clients = clients
        self.secret = secret
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sends a request and collects the answer. Non-2xx answers are returned, not thrown.
    public func send(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, principal: String? = nil,
        headers extra: [(String, String)] = [], timeout: Duration? = nil
    ) async throws(ServiceCallError) -> ServiceResponse {
        if case .perLoop(let service) = clients, let origin {
            var head = HTTPRequestHead(
                version: .http1_1, method: method, uri: origin.path + path, headers: headers(principal: principal, extra: extra, hasBody: body != nil)
            )
            head.headers.add(name: "Host", value: origin.authority)
            if body != nil || method == .POST || method == .PUT { head.headers.add(name: "Content-Length", value: String(body?.count ?? 0)) }
            do {
                return try await service.connections.send(
                    host: origin.host, port: origin.port, head: head, body: body.map { ByteBuffer(bytes: $0) },
                    timeout: TimeAmount(timeout ?? self.timeout), maxResponseBytes: maxResponseBytes
                )
            } catch {
                throw classify(error, path: path)
            }
        }
        let response = try await start(method, path, body: body, principal: principal, headers: extra, timeout: timeout)
        do {
            let collected = try await response.body.collect(upTo: maxResponseBytes)
            return ServiceResponse(status: Int(response.status.code), headers: response.headers, body: collected)
        } catch {
            throw classify(error, path: path)
        }
    }

    /// Sends a request and returns the streaming answer (for progress streams).
    public func start(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, principal: String? = nil,
        headers extra: [(String, String)] = [], timeout: Duration? = nil
    ) async throws(ServiceCallError) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers = headers(principal: principal, extra: extra, hasBody: body != nil)
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let limit = timeout ?? self.timeout
        do {
            return try await clients.current.execute(request, timeout: TimeAmount(limit))
        } catch {
            throw classify(error, path: path)
        }
    }

    /// GET or POST returning parsed JSON; a non-2xx answer is an error carrying the service's message.
    public func json(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, principal: String? = nil) async throws(ServiceCallError) -> JSONValue {
        let response = try await send(method, path, body: body, principal: principal)
        guard (200..<300).contains(response.status) else {
            let message = (try? response.json())?["error"]?["message"]?.stringValue ?? "HTTP \(response.status)"
            throw ServiceCallError(code: .status, target: baseURL + path, message: message, status: response.status)
        }
        do {
            return try response.json()
        } catch {
            throw ServiceCallError(code: .invalidResponse, target: baseURL + path, message: "\(error)", status: response.status)
        }
    }

    /// The service secret, the current request id, the principal on whose behalf the call is made.
    private func headers(principal: String?, extra: [(String, String)], hasBody: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(secret)")
        if let id = RequestID.current { headers.add(name: "X-Request-ID", value: id) }
        if let principal { headers.add(name: "X-Switchboard-Principal", value: principal) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        if hasBody { headers.add(name: "Content-Type", value: "application/json") }
        return headers
    }

    private func classify(_ error: any Error, path: String) -> ServiceCallError {
        if let error = error as? ServiceConnectionError {
            switch error.code {
            case .timeout: return ServiceCallError(code: .timeout, target: baseURL + path, message: "timed out", status: nil)
            case .tooLarge: return ServiceCallError(code: .invalidResponse, target: baseURL + path, message: error.message, status: nil)
            case .connect, .closed: return ServiceCallError(code: .unreachable, target: baseURL + path, message: error.message, status: nil)
            }
        }
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return ServiceCallError(code: .timeout, target: baseURL + path, message: "timed out", status: nil)
        }
        if error is CancellationError {
            return ServiceCallError(code: .timeout, target: baseURL + path, message: "cancelled", status: nil)
        }
        return ServiceCallError(code: .unreachable, target: baseURL + path, message: "\(error)", status: nil)
    }
}

/// The host, port and path prefix of a plain `http://` base URL.
private struct Origin: Sendable {
    let host: String
    let port: Int
    /// `host:port` as the `Host` header carries it.
    let authority: String
    /// The base URL's path, without a trailing slash ("" for none).
    let path: String

    init?(_ url: String) {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = String(rest.dropFirst(authority.count))
        guard !authority.isEmpty, !authority.contains("@"), let parsed = try? Authority(authority), let host = parsed.host else { return nil }
        self.host = host
        port = parsed.port ?? 80
        self.authority = String(authority)
    }
}
