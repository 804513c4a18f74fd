import NIOCore
import NIOPosix

/// Notices that the client of a call has gone away. The server allows half-closed connections, so a
/// client that closes its socket leaves ours open until we write; the TCP state (`CLOSE_WAIT`) shows it.
enum ConnectionWatch {
    static let interval: Duration = .milliseconds(200)

    /// Waits for `task`; cancels it when `channel` (a TCP connection) closes first.
    static func value(of task: Task<ToolResult, Never>, channel: (any Channel)?) async -> ToolResult {
        guard let channel, let socket = channel as? any SocketOptionProvider else { return await task.value }
        return await withTaskGroup(of: ToolResult?.self) { group in
            group.addTask { await task.value }
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { return nil }
                    if await isClosed(channel, socket: socket) {
                        task.cancel()
                        return nil
                    }
                }
                return nil
            }
            var result: ToolResult?
            for await value in group where value != nil {
                result = value
                break
            }
            group.cancelAll()
            if let result { return result }
            return await task.value
        }
    }

    static func isClosed(_ channel: any Channel, socket: any SocketOptionProvider) async -> Bool {
        if !channel.isActive { return true }
        guard let info = try? await socket.getTCPInfo().get() else { return false }
        return info.tcpi_state != 1  // TCP_ESTABLISHED
    }
}
