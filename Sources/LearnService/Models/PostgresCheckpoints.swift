import CLibPQ
import Dispatch
import Foundation
import Synchronization
import SwitchboardCore

/// Model checkpoints in PostgreSQL through libpq: table `switchboard_learn_checkpoints` (version,
/// parent, created_at, reason, bytes — the checkpoint exactly as written to disk). Each version is
/// written in one transaction with the removal of expired ones. libpq blocks, so every call runs on a
/// dedicated serial queue, never on the cooperative pool; the connection is opened on first use and
/// again after a failure.
final class PostgresCheckpoints: Sendable {
    static let table = "switchboard_learn_checkpoints"

    /// Whether the last exchange with PostgreSQL worked, and what went wrong if not.
    struct Health: Sendable, Equatable {
        var up: Bool
        var detail: String
    }

    private final class Connection: @unchecked Sendable {
        // Only touched on `queue`.
        var handle: OpaquePointer?
        deinit { if let handle { PQfinish(handle) } }
    }

    private let conninfo: String
    /// The URL without its password, for messages.
    let displayName: String
    private let queue = DispatchQueue(label: "switchboard.learn.postgres")
    private let connection = Connection()
    private let health = Mutex(Health(up: false, detail: "not connected yet"))

    /// Checks `url` with libpq's own parser; a malformed one is a configuration error naming the key.
    init(url: String) throws(ConfigurationError) {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &message) else {
            let reason = message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "out of memory"
            if let message { PQfreemem(message) }
            throw ConfigurationError(description: "invalid SWITCHBOARD_LEARN_POSTGRES_URL: \(reason)")
        }
        var parts: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val, ["host", "hostaddr", "port", "dbname", "user"].contains(String(cString: keyword)) {
                parts.append("\(String(cString: keyword))=\(String(cString: value))")
            }
            option += 1
        }
        PQconninfoFree(options)
        conninfo = url
        displayName = parts.joined(separator: " ")
    }

    var status: Health { health.withLock { $0 } }

    /// Writes one checkpoint and deletes versions older than `oldestKept`, in one transaction.
    func save(number: Int, parent: Int?, createdAt: Double, reason: String, file: [UInt8], oldestKept: Int) async throws {
        try await run { connection in
            try Self.execute(connection, "BEGIN")
            do {
                try Self.execute(
                    connection,
                    """
                    INSERT INTO \(Self.table) (version, parent, created_at, reason, bytes) VALUES ($1, $2, to_timestamp($3), $4, $5)
                    ON CONFLICT (version) DO UPDATE SET parent = EXCLUDED.parent, created_at = EXCLUDED.created_at, reason = EXCLUDED.reason, bytes = EXCLUDED.bytes
                    """,
                    [.text(String(number)), parent.map { .text(String($0)) } ?? .null, .text(String(createdAt)), .text(reason), .binary(file)]
                )
                try Self.execute(connection, "DELETE FROM \(Self.table) WHERE version < $1", [.text(String(oldestKept))])
                try Self.execute(connection, "COMMIT")
            } catch {
                _ = try? Self.execute(connection, "ROLLBACK")
                throw error
            }
        }
    }

    /// Every stored checkpoint file, oldest first.
    func load() async throws -> [[UInt8]] {
        try await run { connection in
            try Self.query(connection, "SELECT bytes FROM \(Self.table) ORDER BY version", []).map { $0[0] ?? [] }
        }
    }

    /// The version numbers stored.
    func storedVersions() async throws -> [Int] {
        try await run { connection in
            try Self.query(connection, "SELECT version::text FROM \(Self.table) ORDER BY version", [], binary: false).compactMap { row in
                row[0].flatMap { Int(String(decoding: $0, as: UTF8.self)) }
            }
        }
    }

    // MARK: libpq

    private enum Parameter {
        case null
        case text(String)
        case binary([UInt8])
    }

    /// Runs `work` on the connection's queue, connecting (and creating the table) first when needed;
    /// a failure drops the connection so the next call connects afresh.
    private func run<T: Sendable>(_ work: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            queue.async { [connection, conninfo] in
                continuation.resume(
                    returning: Result {
                        if connection.handle == nil || PQstatus(connection.handle) != CONNECTION_OK {
                            if let handle = connection.handle { PQfinish(handle) }
                            connection.handle = nil
                            connection.handle = try Self.connect(conninfo)
                        }
                        do {
                            return try work(connection.handle!)
                        } catch {
                            if PQstatus(connection.handle) != CONNECTION_OK {
                                PQfinish(connection.handle)
                                connection.handle = nil
                            }
                            throw error
                        }
                    }
                )
            }
        }
        switch result {
        case .success(let value):
            health.withLock { $0 = Health(up: true, detail: displayName) }
            return value
        case .failure(let error):
            health.withLock { $0 = Health(up: false, detail: "\(displayName): \(error)") }
            throw error
        }
    }

    private static func connect(_ conninfo: String) throws -> OpaquePointer {
        // connect_timeout first: a value in the URL itself wins.
        let keywords = ["connect_timeout", "dbname"], values = ["3", conninfo]
        let handle = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in PQconnectdbParams(keywordPointers, valuePointers, 1) }
        }
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            let message = handle.map { Self.message($0) } ?? "out of memory"
            if let handle { PQfinish(handle) }
            throw PostgresError("cannot connect: \(message)")
        }
        // Notices ("relation … already exists, skipping") would go to stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        do {
            try execute(
                handle,
                """
                CREATE TABLE IF NOT EXISTS \(table) (version integer PRIMARY KEY, parent integer, created_at timestamptz NOT NULL,
                reason text NOT NULL, bytes bytea NOT NULL)
                """
            )
        } catch {
            PQfinish(handle)
            throw error
        }
        return handle
    }

    @discardableResult
    private static func execute(_ connection: OpaquePointer, _ sql: String, _ parameters: [Parameter] = []) throws -> Int {
        try query(connection, sql, parameters).count
    }

    /// Runs `sql`; returns its rows (binary values unless `binary` is false; nil for NULL).
    private static func query(_ connection: OpaquePointer, _ sql: String, _ parameters: [Parameter], binary: Bool = true) throws -> [[[UInt8]?]] {
        let buffers: [[UInt8]?] = parameters.map { parameter in
            switch parameter {
            case .null: return nil
            case .text(let text): return Array(text.utf8) + [0]
            case .binary(let bytes): return bytes
            }
        }
        let lengths = buffers.map { Int32($0?.count ?? 0) }
        let formats = parameters.map { parameter -> Int32 in if case .binary = parameter { return 1 } else { return 0 } }
        let result: OpaquePointer? = withPointers(buffers) { values in
            PQexecParams(connection, sql, Int32(parameters.count), nil, values, lengths, formats, binary ? 1 : 0)
        }
        guard let result else { throw PostgresError(message(connection)) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            var rows: [[[UInt8]?]] = []
            for row in 0..<PQntuples(result) {
                rows.append((0..<PQnfields(result)).map { column in
                    guard PQgetisnull(result, row, column) == 0, let value = PQgetvalue(result, row, column) else { return nil }
                    return value.withMemoryRebound(to: UInt8.self, capacity: Int(PQgetlength(result, row, column))) {
                        Array(UnsafeBufferPointer(start: $0, count: Int(PQgetlength(result, row, column))))
                    }
                })
            }
            return rows
        default:
            let text = PQresultErrorMessage(result).map { String(cString: $0) } ?? ""
            throw PostgresError(text.isEmpty ? message(connection) : text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    private static func message(_ connection: OpaquePointer) -> String {
        PQerrorMessage(connection).map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown error"
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    private static func withPointers<R>(_ buffers: [[UInt8]?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = buffers.map { buffer in
            guard let buffer else { return nil }
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, buffer.count))
            buffer.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { UnsafeMutableRawPointer(copy).copyMemory(from: base, byteCount: bytes.count) }
            }
            return copy
        }
        defer { copies.forEach { $0?.deallocate() } }
        let pointers = copies.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// A PostgreSQL failure, with libpq's message.
struct PostgresError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}
