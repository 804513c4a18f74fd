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
        try await request(.GET, SupervisorAPI.statusPath)
    }

    func service(_ name: String) async throws -> JSONValue {
        try await request(.GET, SupervisorAPI.servicePath(name))
    }

    func autoscale() async throws -> JSONValue {
        try await request(.GET, SupervisorAPI.autoscalePath)
    }

    func scale(_ name: String, replicas: Int) async throws -> JSONValue {
        try await request(.POST, SupervisorAPI.scalePath(name), body: ["replicas": .int(Int64(replicas))])
    }

    func update(_ name: String, environment: [String: String], unset: [String], binary: String?, force: Bool) async throws -> JSONValue {
        var body: [(key: String, value: JSONValue)] = [
            ("env", .object(environment.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("unset_env", .array(unset.map(JSONValue.string))),
            ("force", .bool(force)),
        ]
        if let binary { body.append(("binary", .string(binary))) }
        return try await request(.POST, SupervisorAPI.updatePath(name), body: .object(body))
    }

    func rollback(_ name: String) async throws -> JSONValue {
        try await request(.POST, SupervisorAPI.rollbackPath(name))
    }

    func shutdown() async throws {
        _ = try await request(.POST, SupervisorAPI.shutdownPath)
    }

    private func request(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.jsonBytes))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            let message = (try? JSONParser.parse(answer))?["error"]?["message"]?.stringValue ?? String(buffer: answer)
            throw StackError(message)
        }
        return try JSONParser.parse(answer)
    }
}
