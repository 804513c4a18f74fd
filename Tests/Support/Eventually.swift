import Prometheus

/// Polls `condition` every 25 ms until it holds; throws (naming `what`) when `timeout` passes first.
public func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw LiveServiceError(message: "timed out after \(timeout) waiting for \(what)")
}

/// The value of one series (`name{labels}` exactly as exposed) in a registry's exposition, or nil.
public func sample(_ registry: PrometheusCollectorRegistry, _ series: String) -> Double? {
    var buffer: [UInt8] = []
    registry.emit(into: &buffer)
    for row in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where row.hasPrefix(series + " ") {
        return Double(row.dropFirst(series.count + 1))
    }
    return nil
}
