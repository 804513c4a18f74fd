import Foundation
import Testing

@testable import SwitchboardCore

@Suite struct TimestampTests {
    @Test func formatsRFC3339InUTCWithMilliseconds() {
        #expect(Timestamp.rfc3339(seconds: 0, nanoseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.rfc3339(seconds: 1_795_298_015, nanoseconds: 123_999_999) == "2026-11-21T21:53:35.123Z")
        #expect(Timestamp.rfc3339(secondsSinceEpoch: 951_782_400.5) == "2000-02-29T00:00:00.500Z")
    }

    @Test func agreesWithFoundationsFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for seconds in stride(from: 0.0, to: 4_000_000_000, by: 123_456_789.25) {
            #expect(Timestamp.rfc3339(secondsSinceEpoch: seconds) == formatter.string(from: Date(timeIntervalSince1970: seconds)))
        }
    }

    @Test func nowIsTodayInUTC() {
        let text = Timestamp.now()
        #expect(text.count == 24)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = formatter.date(from: text)
        #expect(parsed.map { abs($0.timeIntervalSinceNow) < 60 } == true)
    }
}
