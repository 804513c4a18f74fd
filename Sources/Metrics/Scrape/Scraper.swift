import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import Synchronization
import SwitchboardCore

/// Scrapes every discovered replica's `/metrics` on an interval into the ``SeriesStore``, adding
/// `service`, `replica` and `instance` labels and an `up` series per target, like Prometheus does.
final class Scraper: Service, Sendable {
    let discovery: any TargetDiscovery
    let store: SeriesStore
    let interval: Duration
    let timeout: Duration
    private let http: HTTPClientService
    private let logger: Logger
    private let clock: @Sendable () -> Double
    private let status = Mutex<[String: TargetStatus]>([:])
    private let scrapes: Counter
    private let failures: Counter
    private let seriesGauge: Gauge

    /// What the last scrape of one target found.
    struct TargetStatus: Sendable {
        let target: ScrapeTarget
        var up: Bool
        var lastScrape: Double
        var duration: Double
        var samples: Int
        var error: String?
    }

    init(
        discovery: any TargetDiscovery, store: SeriesStore, http: HTTPClientService, metrics: ServiceMetrics, logger: Logger,
        interval: Duration, timeout: Duration = .seconds(3), clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.discovery = discovery
        self.store = store
        self.http = http
        self.logger = logger
        self.interval = interval
        self.timeout = timeout
        self.clock = clock
        scrapes = metrics.registry.makeCounter(
            descriptor: .init(namespace: "switchboard", subsystem: "scrape", metricName: "scrapes", unitName: "total", helpText: "Target scrapes attempted")
        )
        failures = metrics.registry.makeCounter(
            descriptor: .init(namespace: "switchboard", subsystem: "scrape", metricName: "failures", unitName: "total", helpText: "Target scrapes that failed")
        )
        seriesGauge = metrics.registry.makeGauge(
            descriptor: .init(namespace: "switchboard", subsystem: "scrape", metricName: "series", unitName: "", helpText: "Series held in the recent-history store")
        )
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.scrapeAll()
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// Every target's latest status, by address.
    var targets: [TargetStatus] { status.withLock { Array($0.values) }.sorted { ($0.target.service, $0.target.replica) < ($1.target.service, $1.target.replica) } }

    /// Scrapes all current targets once, concurrently.
    func scrapeAll() async {
        let targets: [ScrapeTarget]
        do {
            targets = try await discovery.targets()
        } catch {
            logger.warning("target discovery failed", metadata: ["source": .string(discovery.source), "error": .string("\(error)")])
            return
        }
        let now = clock()
        await withTaskGroup(of: Void.self) { group in
            for target in targets {
                group.addTask { await self.scrape(target, at: now) }
            }
        }
        let current = Set(targets.map(\.address))
        status.withLock { table in
            for address in table.keys where !current.contains(address) { table[address] = nil }
        }
        store.expire(now: now)
        seriesGauge.set(Double(store.counts.series))
    }

    private func scrape(_ target: ScrapeTarget, at now: Double) async {
        scrapes.increment()
        let start = ContinuousClock.now
        var samples: [(SeriesKey, Double)] = []
        var types: [String: String] = [:]
        var problem: String?
        do {
            let response = try await http.client.execute(HTTPClientRequest(url: "http://\(target.address)/metrics"), timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
            let body = try await response.body.collect(upTo: 32 << 20)
            if response.status.code != 200 {
                problem = "HTTP \(response.status.code)"
            } else {
                let parsed = try PrometheusText(String(buffer: body))
                types = parsed.types
                samples.reserveCapacity(parsed.samples.count + 3)
                for sample in parsed.samples {
                    samples.append((SeriesKey(name: sample.name, labels: sample.labels + targetLabels(target)), sample.value))
                }
            }
        } catch {
            problem = "\(error)"
        }
        let elapsed = (ContinuousClock.now - start).seconds
        if problem != nil { failures.increment() }
        samples.append((SeriesKey(name: "up", labels: targetLabels(target)), problem == nil ? 1 : 0))
        samples.append((SeriesKey(name: "scrape_duration_seconds", labels: targetLabels(target)), elapsed))
        samples.append((SeriesKey(name: "scrape_samples_scraped", labels: targetLabels(target)), Double(samples.count - 2)))
        types["up"] = "gauge"
        store.append(samples, at: now, types: types)
        status.withLock {
            $0[target.address] = TargetStatus(target: target, up: problem == nil, lastScrape: now, duration: elapsed, samples: samples.count - 3, error: problem)
        }
    }

    private func targetLabels(_ target: ScrapeTarget) -> [(String, String)] {
        [("service", target.service), ("replica", String(target.replica)), ("instance", target.address)]
    }
}
