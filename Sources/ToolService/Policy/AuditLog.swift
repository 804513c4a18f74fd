import CDispatch
import Dispatch
import Foundation
import SwitchboardCore

/// One line of the audit log: a call or a denial.
struct AuditRecord: Sendable {
    var timestamp = Date()
    var callID: String
    var requestID: String
    var principal: String
    var tool: String
    /// Already redacted (see ``Redactor``).
    var arguments: JSONValue
    /// `allowed`, `denied` (policy) or `invalid` (arguments failed the schema).
    var decision: String
    var rule: String?
    /// `ok`, `error`, `denied`, `invalid` or `cancelled`.
    var outcome: String
    var message: String?
    var exitStatus: JSONValue?
    var duration: Duration
    var bytesIn: Int
    var bytesOut: Int
    /// Limits applied, what ended the command, resources used.
    var execution: JSONValue?

    var line: [UInt8] {
        var writer = JSONWriter(capacity: 512)
        writer.raw("{\"ts\":")
        writer.string(Timestamp.rfc3339(secondsSinceEpoch: timestamp.timeIntervalSince1970))
        writer.key("call_id")
        writer.string(callID)
        writer.key("request_id")
        writer.string(requestID)
        writer.key("principal")
        writer.string(principal)
        writer.key("tool")
        writer.string(tool)
        writer.key("decision")
        writer.string(decision)
        if let rule {
            writer.key("rule")
            writer.string(rule)
        }
        writer.key("outcome")
        writer.string(outcome)
        if let message {
            writer.key("message")
            writer.string(Redactor.scrub(message))
        }
        if let exitStatus {
            writer.key("exit_status")
            writer.value(exitStatus)
        }
        writer.key("duration_ms")
        writer.double(duration.milliseconds)
        writer.key("bytes_in")
        writer.int(bytesIn)
        writer.key("bytes_out")
        writer.int(bytesOut)
        if let execution {
            writer.key("execution")
            writer.value(execution)
        }
        writer.key("arguments")
        writer.value(arguments)
        writer.raw("}\n")
        return writer.bytes
    }
}


/// The audit log: JSON lines appended with `write(2)` on a serial queue and completed before the call's
/// result is returned, rotated by size (`path` → `path.1` … `path.<keep>`). File mode 0600.
final class AuditLog: Sendable {
    let path: String?
    let maxSize: Int
    let keep: Int
    private let queue = DispatchQueue(label: "switchboard.tools.audit")
    private let file: FileState

    /// Descriptor and size, only touched on `queue`.
    private final class FileState: @unchecked Sendable {
        var descriptor: Int32 = -1
        var size = 0
    }

    /// `path` nil disables the log (tests of tools that do not look at it).
    init(path: String?, maxSize: Int, keep: Int = 5) throws(PolicyError) {
        self.path = path
        self.maxSize = max(maxSize, 4096)
        self.keep = max(keep, 1)
        file = FileState()
        if let path {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            guard reopen() else { throw PolicyError("cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        }
    }

    deinit {
        if file.descriptor >= 0 { close(file.descriptor) }
    }

    /// Appends one record; returns false when it could not be written.
    func append(_ record: AuditRecord) async -> Bool {
        guard path != nil else { return true }
        let line = record.line
        return await EventLoopExecutor.awaitElsewhere { deliver in queue.async { deliver(self.write(line)) } }
    }

    private func write(_ line: [UInt8]) -> Bool {
        if file.size > 0 && file.size + line.count > maxSize { rotate() }
        guard file.descriptor >= 0 || reopen() else { return false }
        var offset = 0
        while offset < line.count {
            let written = line.withUnsafeBytes { Foundation.write(file.descriptor, $0.baseAddress! + offset, line.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        file.size += line.count
        return true
    }

    private func rotate() {
        guard let path else { return }
        if file.descriptor >= 0 { close(file.descriptor) }
        file.descriptor = -1
        unlink("\(path).\(keep)")
        if keep > 1 {
            for index in stride(from: keep - 1, through: 1, by: -1) { rename("\(path).\(index)", "\(path).\(index + 1)") }
        }
        rename(path, "\(path).1")
        _ = reopen()
    }

    private func reopen() -> Bool {
        guard let path else { return false }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        var info = stat()
        file.size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        file.descriptor = fd
        return true
    }
}
