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
            for item in value.utf8.split(separator: UInt8(ascii: ",")) {
                let media = Self.mediaType(item)
                let any = media.elementsEqual("*/*".utf8)
                json = json || any || Self.equalsIgnoringCase(media, "application/json") || Self.equalsIgnoringCase(media, "application/*")
                eventStream = eventStream || any || Self.equalsIgnoringCase(media, "text/event-stream") || Self.equalsIgnoringCase(media, "text/*")
            }
        }
        self.json = json
        self.eventStream = eventStream
    }

    /// Whether a `Content-Type` value is JSON (parameters such as charset are ignored).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        return equalsIgnoringCase(mediaType(contentType.utf8[...]), "application/json")
    }

    /// The media type of a header item: what comes before any `;`, without blanks around it.
    private static func mediaType(_ item: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var media = item.prefix { $0 != UInt8(ascii: ";") }.drop(while: isBlank)
        while let last = media.last, isBlank(last) { media = media.dropLast() }
        return media
    }

    /// ASCII case-insensitive comparison with a lower-case media type.
    private static func equalsIgnoringCase(_ bytes: Substring.UTF8View.SubSequence, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, wanted in
                ((UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte) == wanted
            }
        }
    }
}
