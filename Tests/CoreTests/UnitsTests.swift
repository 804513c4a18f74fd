import Testing
@testable import SwitchboardCore

struct UnitsTests {
    @Test(arguments: [
        ("10s", Duration.seconds(10)), ("1m30s", .seconds(90)), ("500ms", .milliseconds(500)), ("1.5h", .seconds(5400)),
        ("0", .zero), ("2d", .seconds(172_800)), ("1w", .seconds(604_800)), ("250us", .microseconds(250)), ("1h5m30s20ms", .milliseconds(3_930_020)),
    ])
    func parsesComposeDurations(text: String, expected: Duration) {
        #expect(Units.parseDuration(text) == expected)
    }

    @Test(arguments: ["30", "10x", "s", "", "1.2.3s", "--1s"])
    func rejectsDurationsWithoutUnits(text: String) {
        #expect(Units.parseDuration(text) == nil)
    }

    @Test(arguments: [
        ("1024", Int64(1024)), ("512M", 536_870_912), ("512mb", 536_870_912), ("512MiB", 536_870_912), ("1gb", 1_073_741_824),
        ("1.5g", 1_610_612_736), ("2b", 2), ("4k", 4096),
    ])
    func parsesBinaryByteSizes(text: String, expected: Int64) {
        #expect(Units.parseByteSize(text) == expected)
    }

    @Test(arguments: ["-1", "12 apples", "m", "1.5.5g"])
    func rejectsBadByteSizes(text: String) {
        #expect(Units.parseByteSize(text) == nil)
    }
}
