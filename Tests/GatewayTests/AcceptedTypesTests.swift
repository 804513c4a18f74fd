import Testing

@testable import Gateway

@Suite struct AcceptedTypesTests {
    @Test func contentTypeIsJSONIgnoringCaseBlanksAndParameters() {
        #expect(AcceptedTypes.isJSON("application/json"))
        #expect(AcceptedTypes.isJSON("Application/JSON; charset=utf-8"))
        #expect(AcceptedTypes.isJSON(" application/json\t;charset=UTF-8"))
        #expect(!AcceptedTypes.isJSON("application/jsonl"))
        #expect(!AcceptedTypes.isJSON("text/plain"))
        #expect(!AcceptedTypes.isJSON(""))
        #expect(!AcceptedTypes.isJSON(nil))
    }

    @Test func acceptListsAreReadItemByItem() {
        let both = AcceptedTypes(["application/json, text/event-stream"])
        #expect(both.json && both.eventStream)
        let json = AcceptedTypes(["TEXT/HTML;q=0.9", " Application/Json ;q=1"])
        #expect(json.json && !json.eventStream)
        let wildcard = AcceptedTypes(["*/*"])
        #expect(wildcard.json && wildcard.eventStream)
        let stream = AcceptedTypes(["text/*"])
        #expect(!stream.json && stream.eventStream)
        let none = AcceptedTypes(["image/png"])
        #expect(!none.json && !none.eventStream)
        let missing = AcceptedTypes([])
        #expect(missing.json && missing.eventStream)
    }
}
