import SwitchboardCore

/// The tools the official MCP conformance suite's server scenarios call, with the results their
/// descriptions specify, plus two fixtures of our own (a slow cancellable call and an
/// `x-mcp-header` argument). Served only when `SWITCHBOARD_CONFORMANCE_FIXTURES` is true.
enum ConformanceFixtures {
    /// A 1×1 red PNG.
    static let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
    /// Eight samples of silence as 8 kHz mono 8-bit WAV.
    static let wav = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA=="

    static let tools: [any Tool] = [
        FixtureTool("test_simple_text", "Returns a fixed text (conformance: tools-call-simple-text).") { _, _ in
            .text("This is a simple text response for testing.")
        },
        FixtureTool("test_image_content", "Returns a 1x1 PNG image (conformance: tools-call-image).") { _, _ in
            ToolResult(content: [["type": "image", "data": .string(png), "mimeType": "image/png"]], structuredContent: nil, isError: false)
        },
        FixtureTool("test_audio_content", "Returns a short WAV clip (conformance: tools-call-audio).") { _, _ in
            ToolResult(content: [["type": "audio", "data": .string(wav), "mimeType": "audio/wav"]], structuredContent: nil, isError: false)
        },
        FixtureTool("test_embedded_resource", "Returns an embedded text resource (conformance: tools-call-embedded-resource).") { _, _ in
            ToolResult(
                content: [
                    [
                        "type": "resource",
                        "resource": ["uri": "test://embedded-resource", "mimeType": "text/plain", "text": "This is an embedded resource content."],
                    ]
                ],
                structuredContent: nil, isError: false
            )
        },
        FixtureTool("test_multiple_content_types", "Returns text, an image and a resource (conformance: tools-call-mixed-content).") { _, _ in
            ToolResult(
                content: [
                    ["type": "text", "text": "Multiple content types test:"],
                    ["type": "image", "data": .string(png), "mimeType": "image/png"],
                    [
                        "type": "resource",
                        "resource": ["uri": "test://mixed-content-resource", "mimeType": "application/json", "text": #"{"test":"data","value":123}"#],
                    ],
                ],
                structuredContent: nil, isError: false
            )
        },
        FixtureTool("test_tool_with_logging", "Sends three info log messages 50 ms apart (conformance: tools-call-with-logging).") { _, context in
            await context.log("info", "Tool execution started")
            try await Task.sleep(for: .milliseconds(50))
            await context.log("info", "Tool processing data")
            try await Task.sleep(for: .milliseconds(50))
            await context.log("info", "Tool execution completed")
            return .text("Tool with logging executed successfully")
        },
        FixtureTool("test_error_handling", "Always fails (conformance: tools-call-error).") { _, _ in
            .error("This tool intentionally returns an error for testing")
        },
        FixtureTool("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100, 50 ms apart (conformance: tools-call-with-progress).") { _, context in
            await context.progress(0, 100, nil)
            try await Task.sleep(for: .milliseconds(50))
            await context.progress(50, 100, nil)
            try await Task.sleep(for: .milliseconds(50))
            await context.progress(100, 100, nil)
            return .text("Tool with progress executed successfully")
        },
        FixtureTool(
            "test_missing_capability", "Needs the client's sampling capability (conformance: server-stateless, -32021).",
            meta: [("io.switchboard/requiredClientCapabilities", ["sampling": [:]])]
        ) { _, _ in
            .text("Success")
        },
        FixtureTool(
            "test_slow_operation", "Runs for `seconds` (default 30), reporting progress every 100 ms; stops when cancelled.",
            inputSchema: [
                "type": "object", "properties": ["seconds": ["type": "number", "minimum": 0, "maximum": 300]], "additionalProperties": false,
            ]
        ) { arguments, context in
            let seconds = arguments["seconds"]?.doubleValue ?? 30
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(seconds) {
                try await Task.sleep(for: .milliseconds(100))
                await context.progress(min((ContinuousClock.now - start).seconds, seconds), seconds, nil)
            }
            return .text("Slow operation finished after \(seconds) s")
        },
        FixtureTool(
            "test_mcp_param_header", "Echoes `region:text`; `region` is mirrored into the Mcp-Param-Region header (x-mcp-header).",
            inputSchema: [
                "type": "object",
                "properties": ["region": ["type": "string", "x-mcp-header": "Region"], "text": ["type": "string"]],
                "required": ["region", "text"],
            ]
        ) { arguments, _ in
            .text("\(arguments["region"]?.stringValue ?? ""):\(arguments["text"]?.stringValue ?? "")")
        },
    ]
}
