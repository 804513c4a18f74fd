import Foundation
import NIOHTTP1
import Testing

@testable import Gateway

@Suite struct SessionSignerTests {
    let signer = SessionSigner(secret: "s3cret", lifetime: .seconds(3600))

    @Test func aSessionVerifiesForItsPrincipalUntilItExpires() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let session = signer.issue(principal: "alice", version: "2025-06-18", now: now)
        #expect(session.id.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E })
        #expect(signer.verify(session.id, principal: "alice", now: now)?.version == "2025-06-18")
        #expect(signer.verify(session.id, principal: "bob", now: now) == nil)
        #expect(signer.verify(session.id, principal: "alice", now: now.addingTimeInterval(3601)) == nil)
        #expect(signer.issue(principal: "alice", version: "2025-06-18", now: now).id != session.id)
    }

    @Test func aRestartedOrOtherReplicaAcceptsItButAnotherSecretDoesNot() {
        let session = signer.issue(principal: "alice", version: "2025-11-25")
        #expect(SessionSigner(secret: "s3cret", lifetime: .seconds(60)).verify(session.id, principal: "alice")?.version == "2025-11-25")
        #expect(SessionSigner(secret: "other", lifetime: .seconds(3600)).verify(session.id, principal: "alice") == nil)
    }

    @Test func alteredOrMalformedIdsDoNotVerify() {
        let id = signer.issue(principal: "alice", version: "2025-11-25").id
        for index in [0, 5, 20, id.count - 1] {
            var characters = Array(id)
            characters[index] = characters[index] == "A" ? "B" : "A"
            #expect(signer.verify(String(characters), principal: "alice") == nil, "\(index)")
        }
        for junk in ["", "x", String(repeating: "A", count: 50), String(repeating: "A", count: 500), "not base64 ✓"] {
            #expect(signer.verify(junk, principal: "alice") == nil)
        }
    }
}
