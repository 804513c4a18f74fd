import Foundation
import Logging
import SwitchboardCore
import Testing

struct LogHandlerTests {
    @Test func writesOneJSONObjectPerLine() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        var handler = JSONLogHandler(label: "t", service: "gateway", level: .info, fileDescriptor: fds[1])
        handler[metadataKey: "request_id"] = "r1"
        let logger = Logger(label: "t") { _ in handler }
        logger.info("hello \"world\"", metadata: ["tool": "read_file"])
        logger.debug("not written below info")
        logger.error("failed")
        close(fds[1])
        let data = FileHandle(fileDescriptor: fds[0]).readDataToEndOfFile()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONParser.parse(String(lines[0]))
        #expect(first["msg"] == "hello \"world\"")
        #expect(first["level"] == "info")
        #expect(first["service"] == "gateway")
        #expect(first["request_id"] == "r1")
        #expect(first["tool"] == "read_file")
        #expect(first["ts"]?.stringValue?.hasSuffix("Z") == true)
        let second = try JSONParser.parse(String(lines[1]))
        #expect(second["source"]?.stringValue?.contains("LogHandlerTests.swift") == true)
    }
}
