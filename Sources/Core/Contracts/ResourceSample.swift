/// One replica's resource use at one moment, sent by the supervisor to the learn service
/// (`POST /v1/resources` body: `{"samples":[…]}`), which watches each measure per replica for anomalies.
///
/// Wire form: `{"ts":1732180000.5,"service":"tools","replica":"tools#2","cpu_cores":0.42,
/// "memory_bytes":73400320,"in_flight":3,"queue_depth":0}`; every measure is optional.
public struct ResourceSample: Sendable, Equatable {
    /// Seconds since the Unix epoch.
    public var timestamp: Double
    public var service: String
    /// The replica's name, unique within the stack (e.g. `tools#2`).
    public var replica: String
    /// Cores in use over the last sampling interval.
    public var cpuCores: Double?
    public var memoryBytes: Double?
    /// HTTP requests the replica was serving.
    public var inFlight: Double?
    /// Work queued in the replica (the sum of its `*_queue_depth` gauges).
    public var queueDepth: Double?

    public init(
        timestamp: Double, service: String, replica: String, cpuCores: Double? = nil, memoryBytes: Double? = nil, inFlight: Double? = nil,
        queueDepth: Double? = nil
    ) {
        self.timestamp = timestamp
        self.service = service
        self.replica = replica
        self.cpuCores = cpuCores
        self.memoryBytes = memoryBytes
        self.inFlight = inFlight
        self.queueDepth = queueDepth
    }

    /// The measures present, by wire name.
    public var measures: [(name: String, value: Double)] {
        [("cpu_cores", cpuCores), ("memory_bytes", memoryBytes), ("in_flight", inFlight), ("queue_depth", queueDepth)].compactMap { name, value in
            value.map { (name, $0) }
        }
    }

    public func write(into writer: inout JSONWriter) {
        writer.raw("{\"ts\":")
        writer.double(timestamp)
        writer.key("service")
        writer.string(service)
        writer.key("replica")
        writer.string(replica)
        for (name, value) in measures {
            writer.key(name)
            writer.double(value)
        }
        writer.raw("}")
    }

    /// Reads a sample; the error names the first missing or mistyped field.
    public init(json: JSONValue) throws(ContractError) {
        guard case .object = json else { throw ContractError("sample is not an object") }
        guard let timestamp = json["ts"]?.doubleValue else { throw ContractError("sample.ts must be a number") }
        guard let service = json["service"]?.stringValue, !service.isEmpty else { throw ContractError("sample.service must be a non-empty string") }
        guard let replica = json["replica"]?.stringValue, !replica.isEmpty else { throw ContractError("sample.replica must be a non-empty string") }
        func measure(_ name: String) throws(ContractError) -> Double? {
            guard let value = json[name], value != .null else { return nil }
            guard let number = value.doubleValue, number.isFinite, number >= 0 else { throw ContractError("sample.\(name) must be a number ≥ 0") }
            return number
        }
        self.init(
            timestamp: timestamp, service: service, replica: replica, cpuCores: try measure("cpu_cores"), memoryBytes: try measure("memory_bytes"),
            inFlight: try measure("in_flight"), queueDepth: try measure("queue_depth")
        )
    }
}
