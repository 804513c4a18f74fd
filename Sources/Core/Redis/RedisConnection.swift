import CHiredis
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One hiredis connection, owned by an actor that runs on its own serial executor: the blocking
/// connect, write and read calls happen on that executor's thread, never on the cooperative pool.
///
/// The connection is made on first use and dropped after any I/O error, timeout or protocol error
/// (hiredis cannot reuse a context after one); the next use reconnects, subject to the client's
/// ``RedisAvailability`` backoff.
actor RedisConnection {
    private let executor: RedisSerialExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let configuration: RedisConfiguration
    private let availability: RedisAvailability
    private let metrics: RedisMetrics
    private var context: UnsafeMutablePointer<redisContext>?

    init(index: Int, configuration: RedisConfiguration, availability: RedisAvailability, metrics: RedisMetrics) {
        executor = RedisSerialExecutor(label: "switchboard.redis.\(index)")
        self.configuration = configuration
        self.availability = availability
        self.metrics = metrics
    }

    isolated deinit {
        if let context { redisFree(context) }
    }

    /// Writes every command, then reads one reply per command, in order (a pipeline when there are
    /// several). Error replies are returned as ``RedisValue/error(_:)``; failures of the connection throw.
    /// A kept connection that turns out to be closed (the server's idle timeout, a restart) is replaced
    /// and the commands are sent once more.
    func execute(_ commands: [RedisCommand]) throws(RedisError) -> [RedisValue] {
        let reused = context != nil
        do throws(RedisError) {
            return try attempt(commands)
        } catch where reused && error.code == .io {
            return try attempt(commands)
        }
    }

    /// Closes the connection (the next use reconnects).
    func close() { drop() }

    private func attempt(_ commands: [RedisCommand]) throws(RedisError) -> [RedisValue] {
        let context = try connected()
        let start = ContinuousClock.now
        do throws(RedisError) {
            for command in commands { try append(command, to: context) }
            var replies: [RedisValue] = []
            replies.reserveCapacity(commands.count)
            for _ in commands.indices { replies.append(try readReply(context)) }
            metrics.recordRoundTrip(.now - start)
            availability.confirmUp()
            return replies
        } catch {
            drop()
            // A silent server is as bad as a missing one: back off instead of waiting again on every call.
            if error.code == .timeout { availability.failed(error) }
            throw error
        }
    }

    private func drop() {
        guard let context else { return }
        redisFree(context)
        self.context = nil
        metrics.disconnected()
    }

    private func connected() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        if let context { return context }
        if let refusal = availability.permitConnect() { throw refusal }
        do throws(RedisError) {
            let context = try connect()
            availability.succeeded()
            return context
        } catch {
            availability.failed(error)
            throw error
        }
    }

    private func connect() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        let connectTimeout = Self.makeTimeval(configuration.connectTimeout)
        let made: UnsafeMutablePointer<redisContext>?
        switch configuration.endpoint {
        case .tcp(let host, let port):
            made = redisConnectWithTimeout(host, Int32(port), connectTimeout)
        case .unix(let path):
            made = redisConnectUnixWithTimeout(path, connectTimeout)
        }
        guard let context = made else { throw RedisError(.connect, "cannot allocate a connection to \(configuration.displayName)") }
        if context.pointee.err != 0 {
            let reason = Self.errorText(context)
            redisFree(context)
            throw RedisError(.connect, "cannot connect to \(configuration.displayName): \(reason)")
        }
        _ = redisSetTimeout(context, Self.makeTimeval(configuration.commandTimeout))
        if case .tcp = configuration.endpoint { _ = redisEnableKeepAlive(context) }
        var handshake: [RedisCommand] = []
        if let password = configuration.password {
            handshake.append(configuration.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password))
        }
        if configuration.database != 0 { handshake.append(RedisCommand("SELECT", configuration.database)) }
        do throws(RedisError) {
            for command in handshake { try append(command, to: context) }
            for command in handshake {
                if case .error(let message) = try readReply(context) {
                    throw RedisError(.handshake, "\(command.name) refused by \(configuration.displayName): \(message)")
                }
            }
        } catch {
            redisFree(context)
            throw error
        }
        self.context = context
        metrics.connected()
        return context
    }

    /// Queues one command in hiredis's output buffer (`redisAppendCommandArgv`). The argument pointers
    /// only live for the duration of the call; hiredis copies the bytes.
    private func append(_ command: RedisCommand, to context: UnsafeMutablePointer<redisContext>) throws(RedisError) {
        let arguments = command.arguments
        var storage: [UInt8] = []
        storage.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        var offsets: [Int] = []
        var lengths: [Int] = []
        offsets.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            offsets.append(storage.count)
            lengths.append(argument.count)
            storage.append(contentsOf: argument)
        }
        storage.append(0)
        let status = storage.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { characters -> Int32 in
                var argv: [UnsafePointer<CChar>?] = offsets.map { UnsafePointer(characters.baseAddress! + $0) }
                return argv.withUnsafeMutableBufferPointer { argvBuffer in
                    lengths.withUnsafeBufferPointer { lengthBuffer in
                        redisAppendCommandArgv(context, Int32(arguments.count), argvBuffer.baseAddress, lengthBuffer.baseAddress)
                    }
                }
            }
        }
        guard status == REDIS_OK else { throw RedisError(.io, "cannot queue \(command.name): \(Self.errorText(context))") }
    }

    private func readReply(_ context: UnsafeMutablePointer<redisContext>) throws(RedisError) -> RedisValue {
        var raw: UnsafeMutableRawPointer?
        let status = redisGetReply(context, &raw)
        let savedErrno = errno
        guard status == REDIS_OK, let raw else { throw failure(context, errno: savedErrno) }
        defer { freeReplyObject(raw) }
        return RedisValue(reply: raw.assumingMemoryBound(to: redisReply.self))
    }

    private func failure(_ context: UnsafeMutablePointer<redisContext>, errno savedErrno: Int32) -> RedisError {
        let text = Self.errorText(context)
        switch context.pointee.err {
        case REDIS_ERR_IO where savedErrno == EAGAIN || savedErrno == EWOULDBLOCK || text.contains("temporarily unavailable"):
            return RedisError(.timeout, "no reply from \(configuration.displayName) within \(Units.format(configuration.commandTimeout))")
        case REDIS_ERR_EOF:
            return RedisError(.io, "\(configuration.displayName) closed the connection")
        case REDIS_ERR_PROTOCOL:
            return RedisError(.io, "protocol error from \(configuration.displayName): \(text)")
        default:
            return RedisError(.io, "connection to \(configuration.displayName) failed: \(text.isEmpty ? "unknown error" : text)")
        }
    }

    /// hiredis's `char errstr[128]`, read up to its NUL.
    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func makeTimeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        return timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
