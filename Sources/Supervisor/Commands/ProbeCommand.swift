import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore

/// `switchboard probe URL`: an HTTP healthcheck for programs without their own (exit 0 on 2xx).
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe", abstract: "GET a URL; exit 0 on a 2xx answer, 1 otherwise.")

    @Argument(help: "The URL to GET.")
    var url: String

    @Option(help: "Seconds to wait for the answer.")
    var timeout = 3

    func run() async throws {
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(Int64(timeout)))
            guard (200..<300).contains(response.status.code) else {
                StandardStream.error.write("unhealthy: \(url) answered \(response.status.code)\n")
                throw ExitCode(1)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            StandardStream.error.write("unhealthy: \(url): \(error)\n")
            throw ExitCode(1)
        }
    }
}
