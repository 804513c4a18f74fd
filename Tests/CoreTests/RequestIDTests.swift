import SwitchboardCore
import Testing

struct RequestIDTests {
    @Test func generatedIDsAreDistinctLowercaseHexWithTheProcessSalt() {
        let ids = (0..<10_000).map { _ in RequestID.generate() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(100) {
            #expect(id.utf8.count == 24)
            #expect(id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            #expect(RequestID.isValid(id[...]))
        }
        // The last 8 digits are the process's salt; the first 16 vary with the counter.
        #expect(Set(ids.map { $0.suffix(8) }).count == 1)
        #expect(Set(ids.map { $0.prefix(16) }).count == ids.count)
    }
}
