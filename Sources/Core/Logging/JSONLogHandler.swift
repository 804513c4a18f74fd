import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

/// Writes one JSON object per line to a file descriptor (stderr by default):
/// `{"ts":"2026-11-21T10:00:00.123Z","level":"info","service":"gateway","msg":"…","request_id":"…"}`.
///
/// Each line is a single `write(2)`, so lines from concurrent tasks never interleave. Installed with
/// ``bootstrap(service:level:)``, a line written while serving a request carries its `request_id`
/// (``Logging/Logger/MetadataProvider/requestID``), read when the line is written.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    private let service: String
    private let label: String
    private let fileDescriptor: Int32

    public init(label: String, service: String, level: Logger.Level, fileDescriptor: Int32 = 2, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.service = service
        self.logLevel = level
        self.fileDescriptor = fileDescriptor
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var writer = JSONWriter(capacity: 256)
        writer.raw("{\"ts\":")
        writer.string(Timestamp.now())
        writer.key("level")
        writer.string(event.level.rawValue)
        writer.key("service")
        writer.string(service)
        writer.key("msg")
        writer.string(event.message.description)
        var merged = metadata
        // Hummingbird's own per-request counter; the request's X-Request-ID is the id that means something.
        merged["hb.request.id"] = nil
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            writer.key(key)
            Self.write(value, into: &writer)
        }
        if event.level >= .error {
            writer.key("source")
            writer.string("\(event.file.split(separator: "/").last ?? ""):\(event.line)")
        }
        writer.raw("}\n")
        writer.bytes.withUnsafeBytes { StandardStream.write($0, to: fileDescriptor) }
    }

    private static func write(_ value: Logger.Metadata.Value, into writer: inout JSONWriter) {
        switch value {
        case .string(let s): writer.string(s)
        case .stringConvertible(let c): writer.string(c.description)
        case .array(let values):
            writer.raw("[")
            for (index, element) in values.enumerated() {
                if index > 0 { writer.raw(",") }
                write(element, into: &writer)
            }
            writer.raw("]")
        case .dictionary(let dictionary):
            writer.raw("{")
            for (index, entry) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                writer.key(entry.key, first: index == 0)
                write(entry.value, into: &writer)
            }
            writer.raw("}")
        }
    }

    /// Installs this handler for the whole process, once.
    public static func bootstrap(service: String, level: Logger.Level) {
        LoggingSystem.bootstrap({ label, provider in
            JSONLogHandler(label: label, service: service, level: level, metadataProvider: provider)
        }, metadataProvider: .requestID)
    }
}
