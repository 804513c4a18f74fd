/// Why a checkpoint could not be read.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Appends a model's state as little-endian binary: exact (bit for bit) and compact.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    public mutating func uint64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func int(_ value: Int) { uint64(UInt64(bitPattern: Int64(value))) }
    public mutating func double(_ value: Double) { uint64(value.bitPattern) }
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func string(_ value: String) {
        int(value.utf8.count)
        bytes.append(contentsOf: value.utf8)
    }

    public mutating func doubles(_ values: [Double]) {
        int(values.count)
        for value in values { double(value) }
    }

    public mutating func floats(_ values: [Float]) {
        int(values.count)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    }

    public mutating func ints(_ values: [Int]) {
        int(values.count)
        for value in values { int(value) }
    }
}

/// Reads what `BinaryWriter` wrote; every read checks the remaining length.
public struct BinaryReader: Sendable {
    private let bytes: [UInt8]
    private var position = 0
    /// Largest element count accepted for one array (guards against corrupt lengths).
    private let maxCount = 1 << 26

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { position == bytes.count }

    private mutating func take(_ count: Int) throws(CheckpointError) -> ArraySlice<UInt8> {
        guard count >= 0, bytes.count - position >= count else {
            throw CheckpointError("checkpoint truncated at byte \(position) (wanted \(count) more)")
        }
        defer { position += count }
        return bytes[position..<position + count]
    }

    public mutating func uint64() throws(CheckpointError) -> UInt64 {
        var value: UInt64 = 0
        for (shift, byte) in try take(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        return value
    }

    public mutating func int() throws(CheckpointError) -> Int { Int(Int64(bitPattern: try uint64())) }
    public mutating func double() throws(CheckpointError) -> Double { Double(bitPattern: try uint64()) }
    public mutating func bool() throws(CheckpointError) -> Bool { try take(1).first! != 0 }

    public mutating func count() throws(CheckpointError) -> Int {
        let count = try int()
        guard (0...maxCount).contains(count) else { throw CheckpointError("checkpoint corrupt: length \(count) at byte \(position - 8)") }
        return count
    }

    public mutating func string() throws(CheckpointError) -> String {
        let length = try count()
        return String(decoding: try take(length), as: UTF8.self)
    }

    public mutating func doubles() throws(CheckpointError) -> [Double] {
        let count = try count()
        var values: [Double] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try double()) }
        return values
    }

    public mutating func floats() throws(CheckpointError) -> [Float] {
        let count = try count()
        var values: [Float] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            var bits: UInt32 = 0
            for (shift, byte) in try take(4).enumerated() { bits |= UInt32(byte) << (8 * UInt32(shift)) }
            values.append(Float(bitPattern: bits))
        }
        return values
    }

    public mutating func ints() throws(CheckpointError) -> [Int] {
        let count = try count()
        var values: [Int] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try int()) }
        return values
    }
}
