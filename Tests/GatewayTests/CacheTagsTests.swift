import SwitchboardCore
import Testing

@testable import Gateway

struct CacheTagsTests {
    let tags = CacheTags(workspace: "/srv/ws")

    @Test func pathsAreNormalizedAndMappedIntoTheWorkspace() {
        #expect(tags.normalize("a/./b//c/") == "a/b/c")
        #expect(tags.normalize("a/b/../c") == "a/c")
        #expect(tags.normalize(".") == "")
        #expect(tags.normalize("/srv/ws/a/b") == "a/b")
        #expect(tags.normalize("/srv/ws") == "")
        #expect(tags.normalize("/srv/ws-evil/a") == "/srv/ws-evil/a")
        #expect(tags.normalize("/etc/hosts") == "/etc/hosts")
        #expect(tags.normalize("~/notes.md") == "~/notes.md")
        #expect(CacheTags(workspace: nil).normalize("/srv/ws/a") == "/srv/ws/a")
    }

    @Test func ancestorsEndAtTheirRoot() {
        #expect(CacheTags.ancestors(of: "a/b/c") == ["a/b", "a", ""])
        #expect(CacheTags.ancestors(of: "") == [])
        #expect(CacheTags.ancestors(of: "/etc/hosts") == ["/etc", "/"])
        #expect(CacheTags.ancestors(of: "~/x/y") == ["~/x", "~"])
    }

    @Test func pathsAreFoundAtAnyDepthUnderPathLikeNames() throws {
        let arguments = try JSONParser.parse(
            #"{"operations":[{"op":"write","path":"a.txt"},{"op":"move","source":"b","destination":"c/d"}],"paths":["e","f/"],"content":"path: not this","limit":3}"#
        )
        #expect(tags.paths(in: arguments) == ["a.txt", "b", "c/d", "e", "f"])
    }

    @Test func anEntryIsTaggedWithItsPathAndItsAncestors() throws {
        #expect(tags.entryTags(arguments: try JSONParser.parse(#"{"path":"a/b.txt"}"#)) == ["s:a/b.txt", "u:", "u:a"])
        #expect(tags.entryTags(arguments: try JSONParser.parse(#"{"n":1}"#)) == [])
    }

    @Test func aWriteTargetsThePathWhatIsBeneathItAndItsAncestorsListings() throws {
        let write = ToolEntry(name: "write_file", definition: FileToolsFixture.tool("write_file", readOnly: false, properties: ["path", "content"]))
        #expect(tags.writeTags(tool: write, arguments: try JSONParser.parse(#"{"path":"a/b.txt"}"#)) == ["s:", "s:a", "s:a/b.txt", "u:a/b.txt"])
        // No path and no working directory in the schema: nothing to invalidate.
        #expect(tags.writeTags(tool: write, arguments: try JSONParser.parse(#"{"content":"x"}"#)) == [])
        let command = ToolEntry(name: "execute_command", definition: FileToolsFixture.tool("execute_command", readOnly: false, properties: ["command", "cwd"]))
        #expect(tags.writeTags(tool: command, arguments: try JSONParser.parse(#"{"command":"make"}"#)) == ["s:", "u:"])
    }
}

struct CacheMetaTests {
    func annotated(_ json: String, status: String = "hit", age: Double? = nil) throws -> JSONValue {
        try JSONParser.parse(CacheMeta.annotate(Array(json.utf8), status: status, age: age))
    }

    @Test func addsMetaWhenTheResultHasNone() throws {
        let value = try annotated(#"{"content":[{"type":"text","text":"hi"}],"isError":false}"#, age: 1.23456)
        #expect(value["_meta"]?["switchboard/cache"]?["status"] == "hit")
        #expect(value["_meta"]?["switchboard/cache"]?["ageSeconds"] == 1.235)
        #expect(value["content"]?.arrayValue?.first?["text"] == "hi")
        #expect(value["isError"] == false)
        #expect(try annotated("{}", status: "miss") == ["_meta": ["switchboard/cache": ["status": "miss"]]])
        #expect(try annotated("  {  }  ", status: "miss")["_meta"] != nil)
    }

    @Test func joinsAnExistingMetaObject() throws {
        let value = try annotated(#"{"_meta":{"tool/landlock":"on"},"content":[]}"#, status: "miss")
        #expect(value["_meta"]?["tool/landlock"] == "on")
        #expect(value["_meta"]?["switchboard/cache"]?["status"] == "miss")
        #expect(try annotated(#"{"content":[],"_meta":{ }}"#)["_meta"]?["switchboard/cache"]?["status"] == "hit")
    }

    @Test func leavesAnythingElseUnchanged() {
        for json in ["[1,2]", #"{"_meta":"odd"}"#, "not json"] {
            #expect(CacheMeta.annotate(Array(json.utf8), status: "hit") == Array(json.utf8))
        }
    }

    @Test func readsTheBypassRequest() {
        #expect(CacheMeta.requestsBypass(Array(#"{"switchboard/cache":"bypass","progressToken":1}"#.utf8)[...]))
        #expect(!CacheMeta.requestsBypass(Array(#"{"switchboard/cache":"hit"}"#.utf8)[...]))
        #expect(!CacheMeta.requestsBypass(nil))
    }
}

struct CachePolicyTests {
    let readOnly = ToolEntry(name: "read_file", definition: FileToolsFixture.tool("read_file", readOnly: true, properties: ["path"]))
    let idempotent = ToolEntry(name: "put_file", definition: FileToolsFixture.tool("put_file", readOnly: false, idempotent: true, properties: ["path"]))
    let writer = ToolEntry(name: "write_file", definition: FileToolsFixture.tool("write_file", readOnly: false, properties: ["path"]))

    @Test func annotatedToolsUseTheDefaultAndEntriesOverrideIt() throws {
        let policy = try CachePolicy(defaultTTL: .seconds(30), entries: ["read_file=5m", "write_file=10s:shared", "put_file=0"], maxResultBytes: 1024)
        #expect(policy.rule(for: readOnly) == .init(ttl: .seconds(300), scope: .principal))
        #expect(policy.rule(for: writer) == .init(ttl: .seconds(10), scope: .shared))
        #expect(policy.rule(for: idempotent) == nil)
        let defaults = try CachePolicy(defaultTTL: .seconds(30), entries: [], maxResultBytes: 1024)
        #expect(defaults.rule(for: idempotent)?.ttl == .seconds(30))
        #expect(defaults.rule(for: writer) == nil)
        let off = try CachePolicy(defaultTTL: .zero, entries: [], maxResultBytes: 1024)
        #expect(off.rule(for: readOnly) == nil)
    }

    @Test(arguments: [
        ("read_file", "expected tool=TTL"),
        ("read_file=soon", "invalid TTL 'soon' for read_file"),
        ("read_file=5m:everyone", "invalid scope 'everyone' for read_file"),
    ])
    func badEntriesNameTheProblem(entry: String, message: String) {
        #expect {
            try CachePolicy(defaultTTL: .seconds(1), entries: [entry], maxResultBytes: 1)
        } throws: { error in
            (error as? ConfigurationError)?.description.contains(message) == true
        }
    }
}
