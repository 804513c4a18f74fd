import SwitchboardCore

/// The metrics service: the monitoring hub that knows every replica.
@main
struct MetricsServiceApp {
    static func main() async {
        await ServiceRunner.main(service: "metrics", keys: ConfigKey.metricsService) { environment in
            try await buildApplication(environment)
        }
    }
}
