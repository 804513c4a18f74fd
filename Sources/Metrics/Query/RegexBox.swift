import Foundation

/// A compiled regular expression that may be shared across tasks (matching is thread-safe).
final class RegexBox: @unchecked Sendable {
    private let expression: NSRegularExpression

    init(_ pattern: String) throws(PromQLError) {
        do {
            expression = try NSRegularExpression(pattern: pattern)
        } catch {
            throw PromQLError("invalid regular expression \(pattern)")
        }
    }

    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
