/// What an `Accept` header allows of the two media types MCP answers with.
struct AcceptedTypes: Sendable {
    let json: Bool
    let eventStream: Bool

    /// Reads every `Accept` value (a missing header accepts anything).
    init(_ values: [String]) {
        guard !values.isEmpty else {
            json = true
            eventStream = true
            return
        }
        var json = false
        var eventStream = false
        for value in values {
            for item in value.split(separator: ",") {
                let media = Self.mediaType(item)
                json = json || media == "application/json" || media == "application/*" || media == "*/*"
                eventStream = eventStream || media == "text/event-stream" || media == "text/*" || media == "*/*"
            }
        }
        self.json = json
        self.eventStream = eventStream
    }

    /// Whether a `Content-Type` value is JSON (parameters such as charset are ignored).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        return mediaType(contentType[...]) == "application/json"
    }

    /// The media type of a header item: what comes before any `;`, without blanks around it, in lower case.
    private static func mediaType(_ item: Substring) -> String {
        let bytes = item.utf8.prefix { $0 != UInt8(ascii: ";") }
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let trimmed = bytes.drop(while: isBlank).reversed().drop(while: isBlank).reversed()
        return String(decoding: trimmed.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
