import Foundation

/// Images the supervisor can stand in for with a locally installed program.
enum KnownImages {
    /// The program and arguments for a service whose image is known, when that program is installed.
    static func program(for service: ComposeService, resolve: (String) -> String?) -> (path: String, arguments: [String])? {
        guard let image = service.image else { return nil }
        let name = image.split(separator: "/").last.map { String($0.split(separator: ":").first ?? "") } ?? ""
        switch name {
        case "redis", "valkey":
            guard let path = resolve("redis-server") ?? resolve("valkey-server"), let port = service.localPort(slot: 1) else { return nil }
            return (path, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"] + (service.command?.dropFirst().map { $0 } ?? []))
        default:
            return nil
        }
    }
}
