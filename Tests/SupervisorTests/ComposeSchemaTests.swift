import Foundation
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import Supervisor

/// The compose specification's schema is compiled into `switchboard` and checks every compose file; every
/// compose file of the project is valid against it, as Docker reads it (after interpolation).
struct ComposeSchemaTests {
    @Test func theCompiledSchemaIsTheVendoredFile() throws {
        let vendored = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("compose/compose-spec.json"), encoding: .utf8)
        #expect(
            ComposeSpecSchema.text == vendored.trimmingCharacters(in: .newlines),
            "compose/compose-spec.json changed: run `make compose-schema` to regenerate Sources/Supervisor/Compose/ComposeSpecSchema.swift"
        )
        _ = try JSONSchema(JSONParser.parse(ComposeSpecSchema.text))
    }

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

    @Test(arguments: [
        ("services:\n  a:\n    image: x\n    replicas: 2\n", "services.a.replicas: unknown key: the compose specification does not allow it here"),
        ("services:\n  a:\n    deploy:\n      update_config:\n        order: random\n", "services.a.deploy.update_config.order: must be one of \"start-first\", \"stop-first\" (compose specification: enum)"),
        ("services:\n  a:\n    healthcheck:\n      interval: 30\n", "services.a.healthcheck.interval: expected string, got integer (compose specification: type)"),
        ("services:\n  a:\n    deploy:\n      resources:\n        limits:\n          memory: 1\n", "services.a.deploy.resources.limits.memory: expected string, got integer"),
        ("services:\n  a:\n    deploy:\n      restart_policy: {condition: any, delay: 1s, attempts: 3}\n", "services.a.deploy.restart_policy.attempts: unknown key"),
        ("servics:\n  a: {}\n", "servics: unknown key"),
        ("services:\n  a:\n    x-anything: {free: form}\n    image: x\n    depends_on: {b: {condition: service_ready}}\n  b: {image: y}\n", "services.a.depends_on.b.condition: must be one of"),
    ])
    func violationsNameThePathOfTheBadKey(yaml: String, expected: String) {
        #expect {
            try ComposeLoader.parse(yaml, variables: [:])
        } throws: { error in
            "\(error)".hasPrefix(expected)
        }
    }
}
