/// Something that can be sent as one argument of a Redis command.
public protocol RedisArgumentConvertible: Sendable {
    /// The argument's bytes on the wire (binary-safe).
    var redisArgument: [UInt8] { get }
}

extension String: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(utf8) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    public var redisArgument: [UInt8] { self }
}

extension ArraySlice: RedisArgumentConvertible where Element == UInt8 {
    public var redisArgument: [UInt8] { Array(self) }
}

extension Int: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Int64: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

/// One Redis command: its name and arguments, each sent as a binary-safe bulk string.
public struct RedisCommand: Sendable, CustomStringConvertible {
    public var arguments: [[UInt8]]

    public init(_ name: String, _ arguments: any RedisArgumentConvertible...) {
        self.init(name, arguments)
    }

    public init(_ name: String, _ arguments: [any RedisArgumentConvertible]) {
        var all = [Array(name.utf8)]
        all.reserveCapacity(arguments.count + 1)
        for argument in arguments { all.append(argument.redisArgument) }
        self.arguments = all
    }

    /// The command name in upper case, for metrics and errors.
    public var name: String { String(decoding: arguments.first ?? [], as: UTF8.self).uppercased() }

    /// The name only: arguments may hold secrets (AUTH) or large values.
    public var description: String { name }
}
