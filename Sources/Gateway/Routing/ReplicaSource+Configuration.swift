import Foundation
import SwitchboardCore

/// Chooses where the gateway learns tool-service replicas from (`SWITCHBOARD_TOOLS_DISCOVERY`).
func makeReplicaSource(_ environment: ServiceEnvironment) throws(ConfigurationError) -> any ReplicaSource {
    let configuration = environment.configuration
    let urls = configuration.list(.toolsURL)
    let service = configuration.string(.toolsService)
    let supervisor = configuration.optional(.supervisorURL)
    let discovery = configuration.string(.toolsDiscovery)
    if discovery == "supervisor" || (discovery == "auto" && supervisor != nil) {
        guard let supervisor else {
            throw ConfigurationError(description: "SWITCHBOARD_TOOLS_DISCOVERY=supervisor needs SWITCHBOARD_SUPERVISOR_URL (the supervisor's control API)")
        }
        return SupervisorReplicas(client: environment.client(for: supervisor, timeout: .seconds(30)), service: service)
    }
    if discovery == "dns" {
        guard let first = urls.first, let url = URL(string: first), let scheme = url.scheme else {
            throw ConfigurationError(description: "SWITCHBOARD_TOOLS_DISCOVERY=dns takes the port and scheme from SWITCHBOARD_TOOLS_URL, which has no URL")
        }
        return DNSReplicas(host: "tasks.\(service)", port: url.port ?? (scheme == "https" ? 443 : 80), scheme: scheme)
    }
    return StaticReplicas(urls: urls)
}
