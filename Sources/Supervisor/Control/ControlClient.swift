import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore

/// The CLI's side of the control API.
struct ControlClient: Sendable {
    let baseURL: String
    let secret: String

    func status() async throws -> JSONValue {
        try await request(.GET, "/v1/status")
    }

    func shutdown() async throws {
        _ = try await request(.POST, "/v1/shutdown")
    }

    private func request(_ method: HTTPMethod, _ path: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw StackError("control API answered \(response.status.code): \(String(buffer: body))")
        }
        return try JSONParser.parse(body)
    }
}
