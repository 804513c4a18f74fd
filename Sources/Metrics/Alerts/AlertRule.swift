import Foundation
import SwitchboardCore
import Yams

/// One alerting rule in Prometheus's rule-file format (`groups[].rules[]` with `alert`, `expr`, `for`,
/// `labels`, `annotations`). The metrics service evaluates the same file Prometheus loads.
struct AlertRule: Sendable {
    let name: String
    let group: String
    let expressionText: String
    let expression: PromQLExpression
    let holdFor: Double
    let labels: [(String, String)]
    let annotations: [(String, String)]

    /// Reads a rule file; errors name the group, rule and what is wrong.
    static func load(path: String) throws(PromQLError) -> [AlertRule] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PromQLError("cannot read alert rules \(path): \((error as NSError).localizedDescription)")
        }
        return try parse(text, source: path)
    }

    static func parse(_ text: String, source: String = "rules") throws(PromQLError) -> [AlertRule] {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw PromQLError("\(source): not valid YAML: \(error)")
        }
        guard let root = document as? [String: Any], let groups = root["groups"] as? [[String: Any]] else {
            throw PromQLError("\(source): expected a top-level 'groups' list")
        }
        var rules: [AlertRule] = []
        for (groupIndex, group) in groups.enumerated() {
            let groupName = group["name"] as? String ?? "group \(groupIndex)"
            for (ruleIndex, rule) in ((group["rules"] as? [[String: Any]]) ?? []).enumerated() {
                let place = "\(source): group \(groupName), rule \(ruleIndex)"
                guard let name = rule["alert"] as? String else { continue }  // recording rules are not alerts
                guard let expr = rule["expr"].map({ "\($0)" }) else { throw PromQLError("\(place) (\(name)): missing expr") }
                let parsed: PromQLExpression
                do {
                    parsed = try PromQLParser.parse(expr)
                } catch {
                    throw PromQLError("\(place) (\(name)): \(error.description)")
                }
                var holdFor = 0.0
                if let text = rule["for"].map({ "\($0)" }) {
                    guard let duration = Units.parseDuration(text) else { throw PromQLError("\(place) (\(name)): invalid 'for' duration '\(text)'") }
                    holdFor = duration.seconds
                }
                rules.append(AlertRule(
                    name: name, group: groupName, expressionText: expr, expression: parsed, holdFor: holdFor,
                    labels: pairs(rule["labels"]), annotations: pairs(rule["annotations"])
                ))
            }
        }
        return rules
    }

    private static func pairs(_ value: Any?) -> [(String, String)] {
        guard let dictionary = value as? [String: Any] else { return [] }
        return dictionary.map { ($0.key, "\($0.value)") }.sorted { $0.0 < $1.0 }
    }
}
