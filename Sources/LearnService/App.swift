import SwitchboardCore

/// The learn service: consumes call telemetry and learns from it.
@main
struct LearnServiceApp {
    static func main() async {
        await ServiceRunner.main(service: "learn", keys: ConfigKey.learnService) { environment in
            try await buildApplication(environment)
        }
    }
}
