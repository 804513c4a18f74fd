import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// Every compose file of the project is valid against the official compose schema, as Docker reads it
/// (after interpolation).
struct ComposeSchemaTests {
    static let files = ["compose/docker-compose.yml", "compose/docker-compose.swarm.yml"]

    @Test(arguments: files)
    func composeFileValidatesAgainstTheComposeSpec(file: String) throws {
        let root = TestEnvironment.packageRoot
        let schema = try JSONSchema(JSONParser.parse(Array(try Data(contentsOf: root.appendingPathComponent("compose/compose-spec.json")))))
        let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
        let variables = ["SWITCHBOARD_SERVICE_SECRET": "s", "SWITCHBOARD_API_KEYS": "local:00"]
        let document = try Interpolation(variables: variables).apply(to: YAMLDocument.parse(text))
        let problems = schema.validate(document).map(\.description)
        #expect(problems.isEmpty, "\(file): \(problems)")
    }
}
