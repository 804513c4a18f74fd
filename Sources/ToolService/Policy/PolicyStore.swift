import CDispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Holds the policy in force and replaces it when the file changes or the process gets SIGHUP.
/// A file that fails to load or compile leaves the previous policy in force; the error is logged,
/// counted and shown by `/ready` until a good file is loaded.
final class PolicyStore: Sendable {
    private struct State {
        var policy: ActivePolicy
        var lastError: String?
        var stamp: [Int]?
    }

    private let state: Mutex<State>
    /// The policy file (nil: the safe defaults, nothing to reload).
    let file: String?
    let workspace: String
    let directories: SandboxDirectories
    /// Files no writable root may contain.
    let guarded: [String]
    private let logger: Logger
    private let reloaded: @Sendable (_ succeeded: Bool) -> Void

    init(
        file: String?, workspace: String, directories: SandboxDirectories, guarded: [String], logger: Logger,
        reloaded: @escaping @Sendable (Bool) -> Void = { _ in }
    ) throws(PolicyError) {
        self.file = file
        self.workspace = workspace
        self.directories = directories
        self.guarded = guarded + (file.map { [$0] } ?? [])
        self.logger = logger
        self.reloaded = reloaded
        let document = try file.map { path throws(PolicyError) in try SecurityPolicy.load(file: path, workspace: workspace) }
            ?? SecurityPolicy.defaults(workspace: workspace)
        let policy = try ActivePolicy(document, revision: 1, directories: directories, guarded: self.guarded)
        state = Mutex(State(policy: policy, lastError: nil, stamp: file.flatMap(Self.stamp)))
    }

    /// The policy a new call runs under.
    var current: ActivePolicy { state.withLock { $0.policy } }

    /// Why the last reload failed, until one succeeds.
    var lastError: String? { state.withLock { $0.lastError } }

    /// Loads the file again. Returns whether the new policy is in force.
    @discardableResult
    func reload(reason: String) -> Bool {
        guard let file else { return false }
        let stamp = Self.stamp(file)
        let revision = state.withLock { $0.policy.revision } + 1
        do {
            let document = try SecurityPolicy.load(file: file, workspace: workspace)
            let policy = try ActivePolicy(document, revision: revision, directories: directories, guarded: guarded)
            state.withLock {
                $0.policy = policy
                $0.lastError = nil
                $0.stamp = stamp
            }
            logger.notice("policy reloaded", metadata: ["file": .string(file), "revision": .stringConvertible(revision), "reason": .string(reason)])
            reloaded(true)
            return true
        } catch {
            state.withLock {
                $0.lastError = error.description
                $0.stamp = stamp
            }
            logger.error("policy reload failed; the previous policy stays in force", metadata: ["file": .string(file), "error": .string(error.description)])
            reloaded(false)
            return false
        }
    }

    /// Reloads when the file's inode, size or modification time changed since the last look.
    func reloadIfChanged() {
        guard let file else { return }
        let stamp = Self.stamp(file)
        if stamp != state.withLock({ $0.stamp }) { reload(reason: "file changed") }
    }

    private static func stamp(_ path: String) -> [Int]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [Int(info.st_dev), Int(info.st_ino), Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
    }
}

/// Watches the policy file (every second) and SIGHUP while the service runs.
struct PolicyWatcher: Service {
    let store: PolicyStore
    var interval: Duration = .seconds(1)
    /// Called once SIGHUP is trapped (tests wait for it before signalling).
    var ready: @Sendable () -> Void = {}

    func run() async throws {
        guard store.file != nil else {
            try? await gracefulShutdown()
            return
        }
        let signals = await UnixSignalsSequence(trapping: .sighup)
        ready()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in signals { store.reload(reason: "SIGHUP") }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        store.reloadIfChanged()
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
