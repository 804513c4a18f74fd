import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import LearnService

struct PredictionControllerTests {
    @Test func predictsTheNextCallOfALearnedWorkflowAndExportsAccuracy() async throws {
        let fixture = try await LearnFixture()
        let workflow = ["list_directory", "read_file", "edit_file", "write_file"]
        var events: [String] = []
        var time = 1_732_180_000.0
        for _ in 0..<40 {
            for tool in workflow {
                events.append(LearnFixture.event(tool, at: time, principal: "alice"))
                time += 1
            }
            time += 1000
        }
        let batch = LearnFixture.batch(events)
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/v1/events", method: .post, headers: LearnFixture.auth, body: batch) { _ in }
            fixture.learner.applyPending()
            fixture.learner.publishPolicy()
            let query = ByteBuffer(string: #"{"principal":"alice","recent":["list_directory","read_file"],"limit":1}"#)
            try await client.execute(uri: "/v1/predict", method: .post, headers: LearnFixture.auth, body: query) { response in
                #expect(response.status == .ok)
                let predictions = try JSONParser.parse(response.body)["predictions"]?.arrayValue ?? []
                #expect(predictions.count == 1)
                #expect(predictions.first?["tool"] == "edit_file")
                #expect((predictions.first?["probability"]?.doubleValue ?? 0) > 0.9)
            }
            try await client.execute(uri: "/v1/predict", method: .post, headers: LearnFixture.auth, body: ByteBuffer(string: #"{"recent":[]}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("'principal' must be a string"))
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                let line = text.split(separator: "\n").first { $0.hasPrefix(#"switchboard_learn_model_accuracy{model="next_call"}"#) }
                let value = line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
                #expect(value > 0.9)
                #expect(text.contains("switchboard_learn_prediction_duration_seconds_count 1"))
            }
        }
    }
}
