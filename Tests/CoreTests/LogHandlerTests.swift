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

    @Test func aLineWrittenWhileServingARequestCarriesItsRequestID() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let handler = JSONLogHandler(label: "t", service: "tools", level: .info, fileDescriptor: fds[1], metadataProvider: .requestID)
        // As Hummingbird hands it to a request: with its own counter, which the line leaves out.
        var logger = Logger(label: "t") { _ in handler }
        logger[metadataKey: "hb.request.id"] = "7"
        RequestID.$current.withValue("0123456789abcdef") { logger.info("serving") }
        logger.info("between requests")
        close(fds[1])
        let data = FileHandle(fileDescriptor: fds[0]).readDataToEndOfFile()
        let lines = try String(decoding: data, as: UTF8.self).split(separator: "\n").map { try JSONParser.parse(String($0)) }
        #expect(lines.count == 2)
        #expect(lines.first?["request_id"] == "0123456789abcdef")
        #expect(lines.first?["hb.request.id"] == nil)
        #expect(lines.last?["request_id"] == nil)
    }
}
