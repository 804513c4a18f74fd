import SwitchboardCore

/// The gateway: the MCP endpoint every client talks to.
@main
struct GatewayApp {
    static func main() async {
        EventLoopExecutor.takeOver()
        await ServiceRunner.main(service: "gateway", keys: ConfigKey.gateway) { environment in
            try await buildApplication(environment)
        }
    }
}
