import Foundation
import Learning
import Synchronization
import SwitchboardCore

/// Model versions: each checkpoint is a new version naming its parent (the version the models were
/// learned on from). With a directory, versions are files `model-<version>.ckpt`, written to a
/// temporary file, fsynced and renamed into place, so a crash leaves the previous version intact; the
/// newest is restored on start. Without one they are kept in memory. At most `keep` versions are kept.
///
/// With ``PostgresCheckpoints`` every version is also written to PostgreSQL; a failure there is
/// reported (``postgresFailed``) and never fails the checkpoint. ``synchronize()`` on start copies
/// versions only PostgreSQL has to the directory (so a service with an empty disk restores from
/// PostgreSQL) and versions only the disk has to PostgreSQL.
final class ModelStore: Sendable {
    /// One checkpointed version.
    struct Version: Sendable, Equatable {
        var number: Int
        var parent: Int?
        var createdAt: Double
        var bytes: Int
        var reason: String

        var json: JSONValue {
            [
                "version": .int(Int64(number)), "parent": parent.map { .int(Int64($0)) } ?? .null, "created_at": .double(createdAt),
                "bytes": .int(Int64(bytes)), "reason": .string(reason),
            ]
        }
    }

    private struct State {
        var versions: [Version] = []
        var payloads: [Int: [UInt8]] = [:]
        var documents: [String: [UInt8]] = [:]
        /// The version the models in memory descend from.
        var current: Int?
    }

    private static let header = "switchboard-learn-checkpoint/1"
    private let directory: URL?
    private let keep: Int
    private let state = Mutex(State())
    private let disk = DispatchQueue(label: "switchboard.learn.checkpoints")
    let postgres: PostgresCheckpoints?
    /// Called with the reason whenever PostgreSQL could not be written or read.
    private let postgresFailed: @Sendable (String) -> Void

    /// Opens the store, reading the versions present in `directory` (created if missing).
    init(directory: String, keep: Int, postgres: PostgresCheckpoints? = nil, postgresFailed: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.keep = max(1, keep)
        self.postgres = postgres
        self.postgresFailed = postgresFailed
        guard !directory.isEmpty else {
            self.directory = nil
            return
        }
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        self.directory = url
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ServiceError(.internal, "checkpoint directory \(directory): \(error.localizedDescription)")
        }
        var versions: [Version] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix("model-") && name.hasSuffix(".ckpt") {
            guard let bytes = FileManager.default.contents(atPath: url.appendingPathComponent(name).path).map(Array.init),
                let (version, _) = try? Self.decode(bytes)
            else { continue }
            versions.append(version)
        }
        versions.sort { $0.number < $1.number }
        state.withLock {
            $0.versions = versions
            $0.current = versions.last?.number
        }
    }

    var versions: [Version] { state.withLock { $0.versions } }
    var current: Int? { state.withLock { $0.current } }

    /// Stores `payload` as a new version whose parent is the current one, and makes it current.
    func commit(_ payload: [UInt8], reason: String, at time: Double) async throws -> Version {
        let (version, expired) = state.withLock { state -> (Version, [Int]) in
            let number = (state.versions.last?.number ?? 0) + 1
            let version = Version(number: number, parent: state.current, createdAt: time, bytes: payload.count, reason: reason)
            state.versions.append(version)
            state.current = number
            var expired: [Int] = []
            while state.versions.count > keep { expired.append(state.versions.removeFirst().number) }
            if directory == nil {
                state.payloads[number] = payload
                for number in expired { state.payloads[number] = nil }
            }
            return (version, expired)
        }
        if let directory {
            let bytes = Self.encode(version, payload)
            try await onDisk {
                try Self.writeAtomically(bytes, to: directory.appendingPathComponent("model-\(version.number).ckpt"))
                for number in expired { try? FileManager.default.removeItem(at: directory.appendingPathComponent("model-\(number).ckpt")) }
            }
        }
        await replicate(version, payload)
        return version
    }

    /// Replaces the small document `name` kept next to the versions (written atomically; in memory
    /// without a directory).
    func saveDocument(_ name: String, _ bytes: [UInt8]) async throws {
        guard let directory else {
            state.withLock { $0.documents[name] = bytes }
            return
        }
        try await onDisk { try Self.writeAtomically(bytes, to: directory.appendingPathComponent(name)) }
    }

    /// The document `name`, if one was saved.
    func document(_ name: String) -> [UInt8]? {
        guard let directory else { return state.withLock { $0.documents[name] } }
        return FileManager.default.contents(atPath: directory.appendingPathComponent(name).path).map(Array.init)
    }

    /// Writes `version` to PostgreSQL (with the expiry of versions no longer kept); a failure is reported.
    private func replicate(_ version: Version, _ payload: [UInt8]) async {
        guard let postgres else { return }
        do {
            try await postgres.save(
                number: version.number, parent: version.parent, createdAt: version.createdAt, reason: version.reason, file: Self.encode(version, payload),
                oldestKept: versions.first?.number ?? version.number
            )
        } catch {
            postgresFailed("checkpoint \(version.number) not written to PostgreSQL: \(error)")
        }
    }

    /// Brings the directory (or memory) and PostgreSQL to the same versions: versions only PostgreSQL
    /// has are stored here and the newest version becomes current; versions only kept here are
    /// written to PostgreSQL. Returns the numbers restored from PostgreSQL.
    @discardableResult
    func synchronize() async -> [Int] {
        guard let postgres else { return [] }
        let files: [[UInt8]]
        do {
            files = try await postgres.load()
        } catch {
            postgresFailed("checkpoints not read from PostgreSQL: \(error)")
            return []
        }
        let known = Set(versions.map(\.number))
        var restored: [(Version, [UInt8])] = []
        var stored = Set<Int>()
        for file in files {
            guard let (version, payload) = try? Self.decode(file) else { continue }
            stored.insert(version.number)
            if !known.contains(version.number) { restored.append((version, payload)) }
        }
        if let directory {
            let restored = restored
            do {
                try await onDisk {
                    for (version, payload) in restored {
                        try Self.writeAtomically(Self.encode(version, payload), to: directory.appendingPathComponent("model-\(version.number).ckpt"))
                    }
                }
            } catch {
                postgresFailed("checkpoints from PostgreSQL not written to \(directory.path): \(error)")
                return []
            }
        }
        let expired = state.withLock { state -> [Int] in
            for (version, payload) in restored {
                state.versions.append(version)
                if directory == nil { state.payloads[version.number] = payload }
            }
            state.versions.sort { $0.number < $1.number }
            var expired: [Int] = []
            while state.versions.count > keep { expired.append(state.versions.removeFirst().number) }
            for number in expired { state.payloads[number] = nil }
            state.current = state.versions.last?.number
            return expired
        }
        if let directory, !expired.isEmpty {
            try? await onDisk {
                for number in expired { try? FileManager.default.removeItem(at: directory.appendingPathComponent("model-\(number).ckpt")) }
            }
        }
        for version in versions where !stored.contains(version.number) {
            guard let payload = try? await payload(of: version.number) else { continue }
            await replicate(version, payload)
        }
        return restored.map(\.0.number).filter { number in versions.contains { $0.number == number } }
    }

    /// The payload of `number`, which becomes the current version (the parent of the next checkpoint).
    func checkout(_ number: Int) async throws -> [UInt8] {
        let payload = try await payload(of: number)
        state.withLock { $0.current = number }
        return payload
    }

    /// The payload of `number`, leaving the current version as it is.
    func payload(of number: Int) async throws -> [UInt8] {
        guard state.withLock({ $0.versions.contains { $0.number == number } }) else {
            let known = versions.map { String($0.number) }.joined(separator: ", ")
            throw ServiceError(.notFound, "model version \(number) is not kept (kept: \(known.isEmpty ? "none" : known))")
        }
        let payload: [UInt8]
        if let directory {
            let url = directory.appendingPathComponent("model-\(number).ckpt")
            let bytes = try await onDisk { () throws -> [UInt8] in
                guard let data = FileManager.default.contents(atPath: url.path) else { throw ServiceError(.internal, "checkpoint \(url.path) is unreadable") }
                return Array(data)
            }
            payload = try Self.decode(bytes).1
        } else {
            payload = state.withLock { $0.payloads[number] } ?? []
        }
        return payload
    }

    private func onDisk<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            disk.async { continuation.resume(with: Result { try work() }) }
        }
    }

    static func encode(_ version: Version, _ payload: [UInt8]) -> [UInt8] {
        var writer = BinaryWriter(capacity: payload.count + 128)
        writer.string(header)
        writer.int(version.number)
        writer.int(version.parent ?? -1)
        writer.double(version.createdAt)
        writer.string(version.reason)
        writer.int(payload.count)
        return writer.bytes + payload
    }

    static func decode(_ bytes: [UInt8]) throws -> (Version, [UInt8]) {
        var reader = BinaryReader(bytes)
        guard try reader.string() == header else { throw CheckpointError("not a learn checkpoint") }
        let number = try reader.int()
        let parent = try reader.int()
        let createdAt = try reader.double()
        let reason = try reader.string()
        let count = try reader.int()
        guard count >= 0, count <= bytes.count else { throw CheckpointError("checkpoint \(number): payload length \(count) exceeds the file") }
        let payload = Array(bytes.suffix(count))
        return (Version(number: number, parent: parent < 0 ? nil : parent, createdAt: createdAt, bytes: count, reason: reason), payload)
    }

    /// Writes `bytes` to a temporary file, fsyncs it, renames it over `url` and fsyncs the directory.
    static func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
        let temporary = url.path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw ServiceError(.internal, "cannot create \(temporary): errno \(errno)") }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                close(descriptor)
                throw ServiceError(.internal, "cannot write \(temporary): errno \(errno)")
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            close(descriptor)
            throw ServiceError(.internal, "cannot fsync \(temporary): errno \(errno)")
        }
        close(descriptor)
        guard rename(temporary, url.path) == 0 else { throw ServiceError(.internal, "cannot rename \(temporary): errno \(errno)") }
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
