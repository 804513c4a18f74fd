import SwitchboardCore

/// The tool service: the tool catalogue and its execution backends behind `/v1`.
@main
struct ToolServiceApp {
    static func main() async {
        EventLoopExecutor.takeOver()
        await ServiceRunner.main(service: "tools", keys: ConfigKey.toolService) { environment in
            try await buildApplication(environment)
        }
    }
}
