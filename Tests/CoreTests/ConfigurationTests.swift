import Foundation
import SwitchboardTestSupport
import Testing
@testable import SwitchboardCore

struct ConfigurationTests {
    let keys = ConfigKey.gateway

    @Test func defaultsThenEnvironmentThenFlags() throws {
        let defaults = try ServiceConfiguration(keys: keys, environment: [:], arguments: [])
        #expect(defaults.port == 8080)
        #expect(defaults.string(.host) == "127.0.0.1")
        let fromEnvironment = try ServiceConfiguration(keys: keys, environment: ["SWITCHBOARD_PORT": "9000"], arguments: [])
        #expect(fromEnvironment.port == 9000)
        let fromFlags = try ServiceConfiguration(keys: keys, environment: ["SWITCHBOARD_PORT": "9000"], arguments: ["--port", "9100", "--log-level=debug"])
        #expect(fromFlags.port == 9100)
        #expect(fromFlags.string(.logLevel) == "debug")
    }

    @Test func typedAccessors() throws {
        let configuration = try ServiceConfiguration(
            keys: keys, environment: ["SWITCHBOARD_MAX_BODY": "1MiB", "SWITCHBOARD_TOOL_TIMEOUT": "1m30s", "SWITCHBOARD_TOOLS_URL": "http://a:1, http://b:2"],
            arguments: []
        )
        #expect(configuration.bytes(.maxBodySize) == 1 << 20)
        #expect(configuration.duration(.toolTimeout) == .seconds(90))
        #expect(configuration.list(.toolsURL) == ["http://a:1", "http://b:2"])
    }

    @Test func badValueNamesTheKeyAndWhatIsAccepted() {
        #expect {
            try ServiceConfiguration(keys: keys, environment: ["SWITCHBOARD_PORT": "http"], arguments: [])
        } throws: { error in
            "\(error)" == "invalid value 'http' for SWITCHBOARD_PORT (--port): expected an integer from 1 to 65535"
        }
        #expect {
            try ServiceConfiguration(keys: keys, environment: [:], arguments: ["--log-level", "loud"])
        } throws: { error in
            "\(error)".contains("SWITCHBOARD_LOG_LEVEL") && "\(error)".contains("one of trace, debug, info")
        }
        #expect {
            try ServiceConfiguration(keys: keys, environment: ["SWITCHBOARD_TOOLS_URL": "ftp://x"], arguments: [])
        } throws: { error in
            "\(error)".contains("SWITCHBOARD_TOOLS_URL") && "\(error)".contains("http:// or https:// URLs")
        }
    }

    @Test func secretsAreNotEchoedInErrors() {
        let strict = [ConfigKey("SWITCHBOARD_TOKEN", default: "x", .integer(1...2), "a secret", secret: true)]
        #expect {
            try ServiceConfiguration(keys: strict, environment: ["SWITCHBOARD_TOKEN": "hunter2"], arguments: [])
        } throws: { error in
            !"\(error)".contains("hunter2") && "\(error)".contains("(hidden)")
        }
    }

    @Test func unknownFlagsAndMissingValuesAreErrors() {
        #expect {
            try ServiceConfiguration(keys: keys, environment: [:], arguments: ["--prot", "1"])
        } throws: { error in
            "\(error)".hasPrefix("unknown option '--prot'")
        }
        #expect {
            try ServiceConfiguration(keys: keys, environment: [:], arguments: ["--port"])
        } throws: { error in
            "\(error)".hasPrefix("option --port needs a value")
        }
    }

    @Test func everyKeyIsInTheREADMETable() throws {
        let readme = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        for (_, keys) in ConfigKey.catalog {
            for key in keys {
                #expect(readme.contains("`\(key.name)`"), "README lacks \(key.name); paste `switchboard config`")
            }
        }
        #expect(readme.contains(ConfigKey.markdownTable), "README's configuration table is out of date; paste `switchboard config`")
    }
}
