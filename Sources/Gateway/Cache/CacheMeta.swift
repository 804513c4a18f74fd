import SwitchboardCore

/// The `_meta` member `"switchboard/cache"` that tells a client whether a result came from the cache, and
/// the same key in a request's `params._meta` that asks to bypass it.
enum CacheMeta {
    static let key = "switchboard/cache"

    /// Whether a request's `params._meta` (raw JSON) says `"switchboard/cache": "bypass"`.
    static func requestsBypass(_ meta: ArraySlice<UInt8>?) -> Bool {
        guard let meta, let value = try? meta.withUnsafeBytes({ try JSONParser.parse($0) }) else { return false }
        return value[key]?.stringValue == "bypass"
    }

    /// `result` with `"switchboard/cache":{"status":…[,"ageSeconds":…]}` added to its `_meta` object
    /// (created when missing). The result is scanned once and copied once; nothing is decoded.
    /// A result that is not an object, or whose `_meta` is not an object, is returned unchanged.
    static func annotate(_ result: [UInt8], status: String, age: Double? = nil) -> [UInt8] {
        var annotation = JSONWriter(capacity: 64)
        annotation.string(key)
        annotation.raw(":{\"status\":")
        annotation.string(status)
        if let age {
            annotation.key("ageSeconds")
            annotation.double((age * 1000).rounded() / 1000)
        }
        annotation.raw("}")
        guard let open = result.firstIndex(where: { !isWhitespace($0) }), result[open] == UInt8(ascii: "{"),
            let members = try? result.withUnsafeBytes({ try JSONParser.members(of: $0) })
        else { return result }
        var output: [UInt8] = []
        output.reserveCapacity(result.count + annotation.bytes.count + 12)
        if let meta = members.last(where: { $0.key == "_meta" }) {
            guard result[meta.range.lowerBound] == UInt8(ascii: "{") else { return result }
            let inside = meta.range.lowerBound + 1
            let isEmpty = result[inside..<meta.range.upperBound].first(where: { !isWhitespace($0) }) == UInt8(ascii: "}")
            output.append(contentsOf: result[..<inside])
            output.append(contentsOf: annotation.bytes)
            if !isEmpty { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: result[inside...])
        } else {
            output.append(contentsOf: result[...open])
            output.append(contentsOf: "\"_meta\":{".utf8)
            output.append(contentsOf: annotation.bytes)
            output.append(UInt8(ascii: "}"))
            if !members.isEmpty { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: result[(open + 1)...])
        }
        return output
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
