import CDispatch
import CSwitchboard
import Dispatch
import Foundation
import Synchronization
import SwitchboardCore

/// `search_files`' engine: a deterministic (name-ordered) walk that never follows symlinks, then a
/// content search of the candidate files in parallel batches, stopping once enough results are found.
/// Results come in path order, so `offset` pages through a stable sequence.
struct TreeSearch: Sendable {
    var namePattern: Glob?
    var excludes: [Glob] = []
    var matcher: TextMatcher?
    var includeHidden = false
    var contextLines = 0
    var maxResults = 100
    var offset = 0
    var maxFileBytes = 10 << 20
    var threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))

    struct Report: Sendable {
        var results: [JSONValue] = []
        var hasMore = false
        var filesScanned = 0
        var skippedBinary = 0
        var skippedLarge = 0
        var unreadable = 0
        var depthLimited = false
    }

    /// Files looked at so far, for progress reports while the search runs.
    let scanned = Counter()

    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        func increment() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    func run(in start: ConfinedPath) throws -> Report {
        var report = Report()
        let needed = offset + maxResults + 1
        var found = 0
        var candidates: [String] = []
        let summary = try DirectoryWalker.walk(
            start, maxDepth: DirectoryWalker.maxDepth,
            descend: { entry in !isExcluded(entry) },
            visit: { entry, _ in
                if isExcluded(entry) { return true }
                let nameMatches = namePattern?.matches(path: entry.path, name: entry.name) ?? true
                if matcher == nil {
                    scanned.increment()
                    guard nameMatches else { return true }
                    found += 1
                    if found > offset + maxResults {
                        report.hasMore = true
                        return false
                    }
                    if found > offset { report.results.append(["path": .string(entry.path), "type": .string(entry.typeName)]) }
                    return true
                }
                if entry.isFile, nameMatches { candidates.append(entry.path) }
                return true
            }
        )
        report.depthLimited = summary.depthLimited
        report.unreadable = summary.directoriesUnreadable
        guard let matcher else {
            report.filesScanned = scanned.value
            return report
        }
        let prefix = start.relative
        var index = 0
        var matches: [JSONValue] = []
        let batchSize = 256
        while index < candidates.count, matches.count < needed {
            let batch = Array(candidates[index..<min(index + batchSize, candidates.count)])
            let outcomes = searchBatch(batch, root: start.root, prefix: prefix, matcher: matcher, limit: needed - matches.count)
            for outcome in outcomes {
                switch outcome {
                case .matches(let found): matches += found
                case .binary: report.skippedBinary += 1
                case .large: report.skippedLarge += 1
                case .unreadable: report.unreadable += 1
                }
                report.filesScanned += 1
                if matches.count >= needed { break }
            }
            index += batch.count
        }
        report.hasMore = matches.count > offset + maxResults
        report.results = Array(matches.dropFirst(offset).prefix(maxResults))
        return report
    }

    private func isExcluded(_ entry: DirectoryEntry) -> Bool {
        if !includeHidden, entry.name.hasPrefix(".") { return true }
        return excludes.contains { $0.matches(path: entry.path, name: entry.name) }
    }

    private enum FileOutcome {
        case matches([JSONValue])
        case binary, large, unreadable
    }

    private final class OutcomeBox: @unchecked Sendable {
        var outcomes: [FileOutcome]
        init(count: Int) { outcomes = Array(repeating: .unreadable, count: count) }
    }

    /// Searches `files` on `threads` threads; outcome `i` belongs to file `i`.
    private func searchBatch(_ files: [String], root: WorkspaceRoot, prefix: String, matcher: TextMatcher, limit: Int) -> [FileOutcome] {
        let box = OutcomeBox(count: files.count)
        let stripes = min(threads, files.count)
        box.outcomes.withUnsafeMutableBufferPointer { buffer in
            let slots = UncheckedSendable(buffer)
            DispatchQueue.concurrentPerform(iterations: stripes) { stripe in
                let worker = matcher.makeWorker()
                var scratch = [UInt8]()
                var index = stripe
                while index < files.count {
                    let path = prefix.isEmpty ? files[index] : prefix + "/" + files[index]
                    slots.value[index] = search(path, display: files[index], root: root, worker: worker, scratch: &scratch, limit: limit)
                    scanned.increment()
                    index += stripes
                }
            }
        }
        return box.outcomes
    }

    private func search(
        _ relative: String, display: String, root: WorkspaceRoot, worker: TextMatcher.Worker, scratch: inout [UInt8], limit: Int
    ) -> FileOutcome {
        let resolve = FileAccess.resolveBeneath | FileAccess.resolveNoSymlinks | FileAccess.resolveNoMagicLinks
        let fd = sb_openat2(root.descriptor, relative, UInt64(O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), 0, resolve)
        guard fd >= 0 else { return .unreadable }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return .unreadable }
        guard info.st_size <= maxFileBytes else { return .large }
        let size = Int(info.st_size)
        if scratch.count < size + 1 { scratch = [UInt8](repeating: 0, count: size + 1) }
        var count = 0
        let readOK = scratch.withUnsafeMutableBytes { bytes -> Bool in
            while count < size {
                let got = Foundation.read(fd, bytes.baseAddress! + count, size - count)
                if got < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                if got == 0 { break }
                count += got
            }
            return true
        }
        guard readOK else { return .unreadable }
        return scratch.withUnsafeBytes { all -> FileOutcome in
            let buffer = UnsafeRawBufferPointer(rebasing: all[0..<count])
            if count > 0, memchr(all.baseAddress!, 0, min(count, 8192)) != nil { return .binary }
            worker.prepare(buffer)
            var matches: [JSONValue] = []
            var position = 0
            var line = 1
            var counted = 0
            while matches.count < limit, let hit = worker.find(in: buffer, from: position) {
                let lineStart = Self.lineStart(buffer, before: hit.lowerBound)
                let lineEnd = Self.lineEnd(buffer, from: hit.lowerBound)
                line += Self.countNewlines(buffer, counted..<lineStart)
                counted = lineStart
                var match: [(key: String, value: JSONValue)] = [
                    ("path", .string(display)), ("line", .int(Int64(line))), ("column", .int(Int64(hit.lowerBound - lineStart + 1))),
                    ("text", .string(Self.text(buffer, lineStart..<lineEnd))),
                ]
                if contextLines > 0 {
                    var before: [JSONValue] = []
                    var cursor = lineStart
                    for _ in 0..<contextLines where cursor > 0 {
                        let previousStart = Self.lineStart(buffer, before: cursor - 1)
                        before.insert(.string(Self.text(buffer, previousStart..<(cursor - 1))), at: 0)
                        cursor = previousStart
                    }
                    var after: [JSONValue] = []
                    cursor = lineEnd
                    for _ in 0..<contextLines where cursor < buffer.count {
                        let nextEnd = Self.lineEnd(buffer, from: cursor + 1)
                        if cursor + 1 > nextEnd { break }
                        after.append(.string(Self.text(buffer, (cursor + 1)..<nextEnd)))
                        cursor = nextEnd
                    }
                    match.append(("before", .array(before)))
                    match.append(("after", .array(after)))
                }
                matches.append(.object(match))
                position = lineEnd + 1
                if position > buffer.count { break }
            }
            return .matches(matches)
        }
    }

    private static func lineStart(_ buffer: UnsafeRawBufferPointer, before index: Int) -> Int {
        guard index > 0, let base = buffer.baseAddress else { return 0 }
        guard let found = sb_memrchr(base, 10, index) else { return 0 }
        return UnsafeRawPointer(found) - base + 1
    }

    private static func lineEnd(_ buffer: UnsafeRawBufferPointer, from index: Int) -> Int {
        guard index < buffer.count, let base = buffer.baseAddress else { return buffer.count }
        guard let found = memchr(base + index, 10, buffer.count - index) else { return buffer.count }
        return UnsafeRawPointer(found) - base
    }

    private static func countNewlines(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var count = 0
        var cursor = range.lowerBound
        while cursor < range.upperBound, let found = memchr(base + cursor, 10, range.upperBound - cursor) {
            count += 1
            cursor = UnsafeRawPointer(found) - base + 1
        }
        return count
    }

    /// A line for display: at most 400 bytes, without a trailing carriage return.
    private static func text(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        var end = range.upperBound
        if end > range.lowerBound, buffer[end - 1] == 13 { end -= 1 }
        let capped = min(end, range.lowerBound + 400)
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[range.lowerBound..<capped]), as: UTF8.self)
        return capped < end ? text + "…" : text
    }
}

/// Carries a value into a `concurrentPerform` body that only touches disjoint parts of it.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
