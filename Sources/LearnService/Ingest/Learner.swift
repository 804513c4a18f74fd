import Prometheus
import Foundation
import Learning
import Logging
import ServiceLifecycle
import Synchronization
import SwitchboardCore

/// Applies queued events to the models off the ingest path, publishes policies, checkpoints model
/// versions and answers predictions. The models sit behind one lock held for at most ``chunk`` events
/// at a time, so a prediction never waits long for learning.
final class Learner: Service, Sendable {
    /// Events applied per lock hold.
    static let chunk = 256

    struct Settings: Sendable {
        var models = LearnedModels.Settings()
        var checkpointInterval: Duration = .seconds(60)
        var publishInterval: Duration = .seconds(1)
    }

    let queue: EventQueue
    let anomalies: AnomalyLog
    let publisher: PolicyPublisher
    let store: ModelStore
    let metrics: LearnMetrics
    let settings: Settings
    let logger: Logger
    /// The running policy experiment and the concluded ones.
    let experiments: ExperimentRunner
    /// Routing weights and cache TTLs pinned by promoted experiments, laid over the learned policy;
    /// kept in the store as ``pinsDocument``.
    let pins = Mutex(PolicyDocument.Pins())
    static let pinsDocument = "policy-pins.json"
    private let models: Mutex<LearnedModels>
    /// Events applied since the last publish and since the last checkpoint.
    private let pending = Mutex<(publish: Int, checkpoint: Int)>((0, 0))

    /// Restores the newest kept version when there is one.
    init(queue: EventQueue, store: ModelStore, metrics: LearnMetrics, settings: Settings, logger: Logger) async {
        self.queue = queue
        self.store = store
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
        anomalies = AnomalyLog()
        publisher = PolicyPublisher()
        experiments = ExperimentRunner(metrics: metrics, logger: logger)
        var restored = LearnedModels(settings: settings.models)
        if let current = store.current {
            do {
                restored = try LearnedModels(checkpoint: try await store.checkout(current), settings: settings.models)
                logger.info("restored model version \(current)", metadata: ["events": "\(restored.events)"])
            } catch {
                logger.error("model version \(current) could not be restored, starting empty: \(error)")
            }
        }
        models = Mutex(restored)
        if let bytes = store.document(Self.pinsDocument), let json = try? JSONParser.parse(bytes) {
            pins.withLock { $0 = PolicyDocument.Pins(json: json) }
        }
        publishPolicy()
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in self.queue.arrivals { self.applyPending() }
                }
                group.addTask {
                    var lastCheckpoint = ContinuousClock.now
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.settings.publishInterval)
                        self.publishPolicy()
                        if ContinuousClock.now - lastCheckpoint >= self.settings.checkpointInterval {
                            lastCheckpoint = .now
                            await self.checkpointIfChanged(reason: "periodic")
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        applyPending()
        publishPolicy()
        await checkpointIfChanged(reason: "shutdown")
    }

    /// Applies everything queued; returns how many events were applied.
    @discardableResult
    func applyPending() -> Int {
        let events = queue.drain()
        metrics.queueDepth.set(Int64(queue.depth))
        guard !events.isEmpty else { return 0 }
        var start = 0
        while start < events.count {
            let end = min(events.count, start + Self.chunk)
            let began = ContinuousClock.now
            let found = models.withLock { models in
                var found: [Anomaly] = []
                for index in start..<end { found += models.apply(events[index]) }
                return found
            }
            metrics.update.record(ContinuousClock.now - began)
            for anomaly in found { metrics.anomaly(anomaly) }
            anomalies.append(found)
            start = end
        }
        pending.withLock {
            $0.publish += events.count
            $0.checkpoint += events.count
        }
        if let concluded = experiments.observe(events, controlWeights: PolicyDocument.weights(publisher.current.content)) { settle(concluded) }
        return events.count
    }

    /// Publishes a new policy version when events were learned since the last one (or with `force`,
    /// after an experiment or a pin changed).
    func publishPolicy(force: Bool = false) {
        let changed = pending.withLock { state -> Bool in
            defer { state.publish = 0 }
            return state.publish > 0
        }
        guard changed || force || publisher.current.version == 0 else { return }
        let (content, accuracy, memory) = models.withLock { ($0.clock > 0 ? PolicyDocument.content($0) : nil, $0.patterns.accuracy, $0.memoryBytes) }
        if let content = content ?? (force ? PolicyDocument.empty : nil) {
            let document = PolicyDocument.adjusted(content, pins: pins.withLock { $0 }, experiment: experiments.policyMember)
            metrics.policyVersion.set(Int64(publisher.publish(document, modelVersion: store.current, at: Date().timeIntervalSince1970)))
        }
        if let accuracy { metrics.accuracy.set(accuracy) }
        metrics.memory.set(Int64(memory))
    }

    /// Checkpoints a new model version if anything was learned since the last one.
    func checkpointIfChanged(reason: String) async {
        guard pending.withLock({ $0.checkpoint > 0 }) else { return }
        do {
            _ = try await checkpoint(reason: reason)
        } catch {
            logger.error("checkpoint failed: \(error)")
        }
    }

    /// Checkpoints the models as a new version.
    func checkpoint(reason: String) async throws -> ModelStore.Version {
        let (payload, count) = models.withLock { ($0.encode(), $0.events) }
        pending.withLock { $0.checkpoint = 0 }
        let version = try await store.commit(payload, reason: "\(reason), \(count) events", at: Date().timeIntervalSince1970)
        metrics.modelVersion.set(Int64(version.number))
        return version
    }

    /// Replaces the models with version `number`, records that as a new version whose parent is
    /// `number` (so a restart keeps the rollback), and republishes the policy.
    func rollback(to number: Int) async throws -> ModelStore.Version {
        let payload = try await store.checkout(number)
        let restored: LearnedModels
        do {
            restored = try LearnedModels(checkpoint: payload, settings: settings.models)
        } catch {
            throw ServiceError(.internal, "model version \(number) is unreadable: \(error)")
        }
        models.withLock { $0 = restored }
        let version = try await store.commit(payload, reason: "rollback to \(number)", at: Date().timeIntervalSince1970)
        metrics.modelVersion.set(Int64(version.number))
        pending.withLock { $0 = (1, 0) }
        publishPolicy()
        logger.notice("rolled back to model version \(number) as version \(version.number)")
        return version
    }

    /// Learns from resource samples (few: one per replica per supervisor sampling interval, so they are
    /// applied at once rather than queued); returns the anomalies found.
    @discardableResult
    func observe(resources samples: [ResourceSample]) -> [Anomaly] {
        let found = models.withLock { models in samples.flatMap { models.apply($0) } }
        metrics.resourceSamples.increment(by: Int64(samples.count))
        for anomaly in found { metrics.anomaly(anomaly) }
        anomalies.append(found)
        if !samples.isEmpty { pending.withLock { $0.checkpoint += samples.count } }
        return found
    }

    /// The next calls predicted for `principal`, after `recent` calls when given.
    func predict(principal: String, recent: [String]?, limit: Int) -> [NextCallPredictor.Prediction] {
        let began = ContinuousClock.now
        defer { metrics.prediction.record(ContinuousClock.now - began) }
        return models.withLock { $0.patterns.predict(principal: principal, recent: recent, limit: limit) }
    }

    /// Figures for `GET /v1/stats`.
    var summary: (events: Int, watched: Int, memory: Int, accuracy: Double?) {
        models.withLock { ($0.events, $0.watches.count, $0.memoryBytes, $0.patterns.accuracy) }
    }
}
