import Testing

import SwitchboardCore

struct PrometheusTextTests {
    @Test func parsesSamplesLabelsAndTypes() throws {
        let text = """
            # HELP http_requests_total Requests.
            # TYPE http_requests_total counter
            http_requests_total{route="/mcp",method="POST",note="a \\"quoted\\" \\\\ value"} 42
            # TYPE d histogram
            d_bucket{le="+Inf"} 3
            up 1 1700000000000
            weird NaN
            """
        let parsed = try PrometheusText(text)
        #expect(parsed.types["http_requests_total"] == "counter")
        #expect(parsed.help["http_requests_total"] == "Requests.")
        #expect(parsed.samples.count == 4)
        #expect(parsed.samples[0].labels.map(\.1) == ["/mcp", "POST", "a \"quoted\" \\ value"])
        #expect(parsed.samples[0].value == 42)
        #expect(parsed.samples[1].labels.first?.1 == "+Inf")
        #expect(parsed.samples[2].value == 1)
        #expect(parsed.samples[3].value.isNaN)
    }

    @Test func reportsTheLineOfAProblem() {
        #expect {
            try PrometheusText("ok 1\nbad{a=1} 2\n")
        } throws: { error in
            "\(error)" == "line 2: label value must be quoted"
        }
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText("x{a=\"1\"} notanumber") }
    }

    @Test func sumsOneMetricOverItsLabelSets() {
        let text = "# TYPE inflight gauge\ninflight{route=\"/a\"} 2\ninflight{route=\"/b\"} 3.5\ninflight_total 100\nother 7\n"
        #expect(PrometheusText.sum(of: "inflight", in: text) == 5.5)
        #expect(PrometheusText.sum(of: "missing", in: text) == nil)
    }
}
