import ServiceLifecycle
import SwitchboardCore

/// Applies queued events to the models, off the ingest path.
struct Learner: Service {
    let queue: EventQueue
    let statistics: CallStatistics

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in queue.arrivals {
                statistics.apply(queue.drain())
            }
        }
        statistics.apply(queue.drain())
    }
}
