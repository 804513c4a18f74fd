import Foundation
import NIOHTTP1
import Logging
import ServiceLifecycle
import Synchronization
import SwitchboardCore

/// Sends call telemetry to the learn service in batches, off the caller's path: `record` only appends
/// to a bounded buffer (or counts a drop), and a background loop posts what accumulated.
final class TelemetryReporter: Service, Sendable {
    private let client: ServiceClient?
    private let capacity: Int
    private let batchSize: Int
    private let interval: Duration
    private let logger: Logger
    private let buffer = Mutex<[CallEvent]>([])
    private let counters = Mutex<(sent: Int, dropped: Int, failed: Int)>((0, 0, 0))

    init(client: ServiceClient?, logger: Logger, capacity: Int = 10_000, batchSize: Int = 500, interval: Duration = .milliseconds(250)) {
        self.client = client
        self.logger = logger
        self.capacity = capacity
        self.batchSize = batchSize
        self.interval = interval
    }

    /// Whether events go anywhere (a learn service is configured); without one, `record` drops them.
    var isEnabled: Bool { client != nil }

    /// Queues an event; never waits.
    func record(_ event: CallEvent) {
        guard isEnabled else { return }
        let accepted = buffer.withLock { events -> Bool in
            guard events.count < capacity else { return false }
            events.append(event)
            return true
        }
        if !accepted { counters.withLock { $0.dropped += 1 } }
    }

    var statistics: (sent: Int, dropped: Int, failed: Int) { counters.withLock { $0 } }

    func run() async throws {
        guard client != nil else {
            try? await gracefulShutdown()
            return
        }
        // Keep flushing until shutdown, then flush once more.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                await self.flush()
            }
        }
        await flush()
    }

    /// Posts everything queued, in batches.
    func flush() async {
        guard let client else { return }
        while true {
            let batch = buffer.withLock { events -> [CallEvent] in
                let taken = Array(events.prefix(batchSize))
                events.removeFirst(taken.count)
                return taken
            }
            guard !batch.isEmpty else { return }
            do {
                let response = try await client.send(.POST, LearnServiceAPI.eventsPath, body: LearnServiceAPI.eventsBody(batch), timeout: .seconds(5))
                if (200..<300).contains(response.status) {
                    counters.withLock { $0.sent += batch.count }
                } else {
                    counters.withLock { $0.failed += batch.count }
                    logger.warning("learn service refused telemetry", metadata: ["status": .stringConvertible(response.status)])
                }
            } catch {
                counters.withLock { $0.failed += batch.count }
                logger.debug("telemetry not delivered", metadata: ["error": .string(error.description)])
                return
            }
        }
    }
}
