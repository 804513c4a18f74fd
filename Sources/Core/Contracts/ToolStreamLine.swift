/// The severity of a tool's log line, RFC 5424 order (MCP `LoggingLevel`), least severe first.
public enum ToolLogLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, notice, warning, error, critical, alert, emergency

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: ToolLogLevel, rhs: ToolLogLevel) -> Bool { lhs.rank < rhs.rank }
}

/// One line of a `POST /v1/tools/call` answer streamed as `application/x-ndjson` (see ``ToolServiceAPI``):
/// `{"progress":{…}}`, `{"log":{…}}` any number of times, then one `{"result":{…}}`.
///
/// Lines are built and read without decoding what they carry: the gateway forwards the inner
/// objects as bytes.
public enum ToolStreamLine: Sendable {
    /// A `{"progress":…}` line; the range covers the inner object.
    case progress(Range<Int>)
    /// A `{"log":…}` line with its level; the range covers the inner object.
    case log(ToolLogLevel, Range<Int>)
    /// The final `{"result":…}` line; the range covers the `CallToolResult`.
    case result(Range<Int>)

    /// `{"progress":{"progress":p,"total":t,"message":m}}` followed by a newline.
    public static func progress(_ progress: Double, total: Double?, message: String?) -> [UInt8] {
        var writer = JSONWriter(capacity: 96)
        writer.raw("{\"progress\":{\"progress\":")
        writer.double(progress)
        if let total {
            writer.key("total")
            writer.double(total)
        }
        if let message {
            writer.key("message")
            writer.string(message)
        }
        writer.raw("}}\n")
        return writer.bytes
    }

    /// `{"log":{"level":…,"logger":…,"data":…}}` followed by a newline.
    public static func log(_ level: ToolLogLevel, logger: String?, data: JSONValue) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.raw("{\"log\":{\"level\":")
        writer.string(level.rawValue)
        if let logger {
            writer.key("logger")
            writer.string(logger)
        }
        writer.key("data")
        writer.value(data)
        writer.raw("}}\n")
        return writer.bytes
    }

    /// `{"result":<CallToolResult>}` followed by a newline, around already-serialized result bytes.
    public static func result(_ result: some Collection<UInt8>) -> [UInt8] {
        var writer = JSONWriter(capacity: result.count + 12)
        writer.raw("{\"result\":")
        writer.raw(result)
        writer.raw("}\n")
        return writer.bytes
    }

    /// Reads one line (without its newline). Unknown line kinds are nil so that a newer tool
    /// service can add kinds an older gateway skips; malformed lines are an error naming why.
    public static func parse(_ line: UnsafeRawBufferPointer) throws(ContractError) -> ToolStreamLine? {
        let members: [JSONMemberRange]
        do {
            members = try JSONParser.members(of: line)
        } catch {
            throw ContractError("stream line is not a JSON object: \(error)")
        }
        guard let member = members.first else { throw ContractError("stream line is an empty object") }
        guard line[member.range.lowerBound] == UInt8(ascii: "{") else {
            throw ContractError("stream line member '\(member.key)' must be an object")
        }
        switch member.key {
        case "progress":
            return .progress(member.range)
        case "result":
            return .result(member.range)
        case "log":
            let inner: [JSONMemberRange]
            do {
                inner = try JSONParser.members(of: UnsafeRawBufferPointer(rebasing: line[member.range]))
            } catch {
                throw ContractError("log line: \(error)")
            }
            guard let levelMember = inner.first(where: { $0.key == "level" }),
                case .string(let text)? = try? JSONParser.parse(
                    UnsafeRawBufferPointer(rebasing: line[(member.range.lowerBound + levelMember.range.lowerBound)..<(member.range.lowerBound + levelMember.range.upperBound)])
                ),
                let level = ToolLogLevel(rawValue: text)
            else {
                throw ContractError("log line needs a 'level' of \(ToolLogLevel.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .log(level, member.range)
        default:
            return nil
        }
    }
}
