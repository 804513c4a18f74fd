import Foundation

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
                let media = item.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
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
        return contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }
}
