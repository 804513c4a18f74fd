import SwitchboardCore

/// A 2026-07-28 `subscriptions/listen` request and the messages it is answered with: the
/// acknowledgement naming what is honoured (tool list changes), each change tagged with the
/// subscription id (the listen request's id), and the result that ends it gracefully.
struct Subscription: Sendable {
    /// Whether the client asked for `toolsListChanged`, the one notification this server has.
    let wantsTools: Bool
    let acknowledged: [UInt8]
    let changed: [UInt8]
    let final: [UInt8]

    init(_ message: JSONRPCMessage) {
        let id = message.id ?? JSONRPCResponse.nullID
        wantsTools = message.decodedParam("notifications")?["toolsListChanged"]?.boolValue == true
        var tag = JSONWriter()
        tag.raw("{\"_meta\":{")
        tag.string(MCPMeta.subscriptionID)
        tag.raw(":")
        tag.raw(id)
        tag.raw("}")
        acknowledged = JSONRPCResponse.notification(
            method: "notifications/subscriptions/acknowledged",
            params: tag.bytes + Array((wantsTools ? ",\"notifications\":{\"toolsListChanged\":true}}" : ",\"notifications\":{}}").utf8)
        )
        changed = JSONRPCResponse.notification(method: "notifications/tools/list_changed", params: tag.bytes + [UInt8(ascii: "}")])
        var end = JSONWriter()
        end.raw("{\"resultType\":\"complete\",\"_meta\":{")
        end.string(MCPMeta.subscriptionID)
        end.raw(":")
        end.raw(id)
        end.raw(",")
        end.raw(MCPServer.serverInfoMember)
        end.raw("}}")
        final = JSONRPCResponse.result(id: id, result: end.bytes)
    }
}
