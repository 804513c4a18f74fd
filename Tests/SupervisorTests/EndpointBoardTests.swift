import Foundation
import SwitchboardCore
import Testing

@testable import Supervisor

/// Versioned routing lists and the watchers' acknowledgements that draining waits for.
struct EndpointBoardTests {
    private func endpoint(_ slot: Int) -> ReplicaEndpoints.Endpoint {
        .init(url: "http://127.0.0.1:\(9000 + slot)", slot: slot, task: slot)
    }

    @Test func theVersionGrowsOnlyWhenTheListChanges() {
        let board = EndpointBoard()
        #expect(board.publish("tools", [endpoint(1), endpoint(2)]) == 1)
        #expect(board.publish("tools", [endpoint(1), endpoint(2)]) == 1)
        #expect(board.publish("tools", [endpoint(2)]) == 2)
        #expect(board.current("tools").endpoints == [endpoint(2)])
        #expect(board.current("other").version == 0)
    }

    @Test func aWatcherIsAnsweredOnChangeAndAcknowledgesByAskingAgain() async {
        let board = EndpointBoard()
        board.publish("tools", [endpoint(1), endpoint(2)])
        // Asking since 0 answers at once; the watcher now routes by version 1.
        #expect(await board.watch("tools", since: 0, watcher: "gw", wait: .seconds(5)).version == 1)
        async let next = board.watch("tools", since: 1, watcher: "gw", wait: .seconds(10))
        try? await Task.sleep(for: .milliseconds(50))
        #expect(board.watchers("tools") == ["gw": 1])
        // Draining replica 1: version 2 is not acknowledged until the watcher asks past it.
        let version = board.publish("tools", [endpoint(2)])
        #expect(await next.endpoints == [endpoint(2)])
        async let drained = board.awaitAcknowledged("tools", version: version, timeout: .seconds(10))
        try? await Task.sleep(for: .milliseconds(50))
        async let _ = board.watch("tools", since: version, watcher: "gw", wait: .milliseconds(100))
        #expect(await drained.isEmpty)
    }

    @Test func drainingGivesUpOnASilentWatcherAfterTheTimeout() async {
        let board = EndpointBoard(liveness: .seconds(30))
        board.publish("tools", [endpoint(1)])
        _ = await board.watch("tools", since: 0, watcher: "silent", wait: .zero)
        let version = board.publish("tools", [])
        let start = ContinuousClock.now
        #expect(await board.awaitAcknowledged("tools", version: version, timeout: .milliseconds(300)) == ["silent"])
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        // A watcher that stopped asking longer than the liveness ago is not waited for.
        let forgetful = EndpointBoard(liveness: .milliseconds(50))
        forgetful.publish("tools", [endpoint(1)])
        _ = await forgetful.watch("tools", since: 0, watcher: "gone", wait: .zero)
        try? await Task.sleep(for: .milliseconds(100))
        #expect(await forgetful.awaitAcknowledged("tools", version: forgetful.publish("tools", []), timeout: .seconds(5)).isEmpty)
    }
}
