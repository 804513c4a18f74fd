/// The PromQL subset the metrics service evaluates: enough for the suite's alert rules and dashboards,
/// and valid PromQL so the same expressions run in Prometheus and Grafana.
indirect enum PromQLExpression: Sendable, Equatable {
    case number(Double)
    case string(String)
    /// `name{label="v"}`, optionally with a range `[5m]` and an `offset`.
    case selector(name: String?, matchers: [LabelMatcher], range: Double?, offset: Double)
    case call(function: String, arguments: [PromQLExpression])
    case aggregate(operation: String, grouping: Grouping, parameter: PromQLExpression?, expression: PromQLExpression)
    case binary(operator: String, left: PromQLExpression, right: PromQLExpression, matching: VectorMatching)
    case negate(PromQLExpression)

    enum Grouping: Sendable, Equatable {
        case none
        case by([String])
        case without([String])
    }

    struct VectorMatching: Sendable, Equatable {
        enum Labels: Sendable, Equatable {
            case all
            case on([String])
            case ignoring([String])
        }
        var labels: Labels = .all
        /// `> bool` returns 0/1 instead of filtering.
        var returnBool = false
    }
}

/// `label="value"`, `!=`, `=~`, `!~`.
struct LabelMatcher: Sendable, Equatable {
    enum Kind: String, Sendable {
        case equal = "="
        case notEqual = "!="
        case regex = "=~"
        case notRegex = "!~"
    }

    let label: String
    let kind: Kind
    let value: String
    /// Anchored like Prometheus (`^(?:value)$`).
    let pattern: RegexBox?

    init(label: String, kind: Kind, value: String) throws(PromQLError) {
        self.label = label
        self.kind = kind
        self.value = value
        if kind == .regex || kind == .notRegex {
            pattern = try RegexBox("^(?:\(value))$")
        } else {
            pattern = nil
        }
    }

    func matches(_ candidate: String?) -> Bool {
        let text = candidate ?? ""
        switch kind {
        case .equal: return text == value
        case .notEqual: return text != value
        case .regex: return pattern!.matches(text)
        case .notRegex: return !pattern!.matches(text)
        }
    }

    static func == (a: LabelMatcher, b: LabelMatcher) -> Bool {
        a.label == b.label && a.kind == b.kind && a.value == b.value
    }
}

/// Why an expression could not be parsed or evaluated.
struct PromQLError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}
