import Foundation
import Synchronization
import SwitchboardCore

/// Where a replica slot's output goes: its own log file (rotated by size like Docker's json-file driver:
/// `max-size`, `max-file`), the console with a `service.slot | ` prefix when the supervisor runs in the
/// foreground, and a short in-memory tail used to explain failures.
final class ReplicaLog: Sendable {
    let name: String
    let path: String
    private let console: Console?
    private let rotation: ComposeService.LogRotation
    private let state = Mutex<State>(State())

    private struct State {
        var handle: FileHandle?
        var size: Int64 = 0
        var tail: [String] = []
    }

    init(name: String, directory: String, console: Console?, rotation: ComposeService.LogRotation = .init()) {
        self.name = name
        self.path = "\(directory)/\(name).log"
        self.console = console
        self.rotation = rotation
    }

    /// Pumps a process's output until it ends.
    func pump(_ stream: AsyncStream<[UInt8]>) async {
        var splitter = LineSplitter()
        for await chunk in stream {
            for line in splitter.feed(chunk) { write(line) }
        }
        if let last = splitter.flush() { write(last) }
    }

    /// A line the supervisor itself says about this replica.
    func note(_ line: String) {
        write("[switchboard] \(line)")
    }

    func write(_ line: String) {
        console?.line(prefix: name, line)
        let data = Data((line + "\n").utf8)
        state.withLock { state in
            state.tail.append(line)
            if state.tail.count > 20 { state.tail.removeFirst(state.tail.count - 20) }
            if state.handle == nil { open(&state) }
            state.handle?.write(data)
            state.size += Int64(data.count)
            if state.size > rotation.maxSize { rotate(&state) }
        }
    }

    /// The last lines written, newest last.
    var tail: [String] { state.withLock { $0.tail } }

    /// The most telling recent line: the last one that looks like an error, else the last one.
    var lastProblem: String? {
        let lines = tail.filter { !$0.hasPrefix("[switchboard]") }
        if let error = lines.last(where: { line in
            ["error", "critical", "cannot", "failed", "fatal", "invalid"].contains { line.lowercased().contains($0) }
        }) {
            return Self.readable(error)
        }
        return lines.last.map(Self.readable)
    }

    /// The `msg` of a JSON log line, else the line.
    static func readable(_ line: String) -> String {
        if line.hasPrefix("{"), let value = try? JSONParser.parse(line), let message = value["msg"]?.stringValue {
            return message
        }
        return line
    }

    private func open(_ state: inout State) {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        state.handle = FileHandle(forWritingAtPath: path)
        state.size = Int64((try? state.handle?.seekToEnd()) ?? 0)
    }

    /// Keeps `max-file` files: `name.log.1` is the newest rotated one; with one file the log starts over.
    private func rotate(_ state: inout State) {
        try? state.handle?.close()
        state.handle = nil
        let files = FileManager.default
        try? files.removeItem(atPath: "\(path).\(max(1, rotation.maxFiles - 1))")
        if rotation.maxFiles > 1 {
            for index in stride(from: rotation.maxFiles - 2, through: 1, by: -1) {
                try? files.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
            }
            try? files.moveItem(atPath: path, toPath: path + ".1")
        } else {
            try? files.removeItem(atPath: path)
        }
        open(&state)
    }

    /// The log files of a slot, oldest first.
    static func files(path: String) -> [String] {
        var rotated: [(Int, String)] = []
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where entry.hasPrefix(base + ".") {
            if let index = Int(entry.dropFirst(base.count + 1)) { rotated.append((index, directory + "/" + entry)) }
        }
        return rotated.sorted { $0.0 > $1.0 }.map(\.1) + (FileManager.default.fileExists(atPath: path) ? [path] : [])
    }
}

/// The supervisor's terminal output, one whole line at a time.
final class Console: Sendable {
    private let lock = Mutex<Void>(())
    private let width: Int

    init(nameWidth: Int) {
        width = nameWidth
    }

    func line(prefix: String, _ text: String) {
        let padded = prefix.padding(toLength: max(width, prefix.count), withPad: " ", startingAt: 0)
        let output = "\(padded) | \(text)\n"
        lock.withLock { _ in StandardStream.output.write(output) }
    }
}
