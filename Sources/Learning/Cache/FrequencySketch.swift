/// TinyLFU's approximate frequency counter (Einziger, Friedman & Manes 2017; Caffeine's layout): a
/// count-min sketch of 4-bit counters: `capacity` 64-bit words (rounded up to a power of two) of
/// sixteen counters each, indexed by four hash functions. After `10·capacity` increments every counter is halved, so
/// the sketch follows the recent popularity of keys.
public struct FrequencySketch: Sendable, Equatable {
    private var table: [UInt64]
    private let mask: Int
    private let sampleSize: Int
    private var additions = 0

    public init(capacity: Int) {
        let counters = 16 * max(4, capacity.nextPowerOfTwo)
        table = Array(repeating: 0, count: counters / 16)
        mask = counters - 1
        sampleSize = 10 * max(1, capacity)
    }

    /// The estimated count of `key` (0…15).
    public func frequency(_ key: UInt64) -> Int {
        var minimum = 15
        for row in 0..<4 {
            let (word, shift) = position(key, row: row)
            minimum = min(minimum, Int((table[word] >> shift) & 0xF))
        }
        return minimum
    }

    /// Counts one occurrence of `key`.
    public mutating func increment(_ key: UInt64) {
        var added = false
        for row in 0..<4 {
            let (word, shift) = position(key, row: row)
            if (table[word] >> shift) & 0xF < 15 {
                table[word] += 1 << shift
                added = true
            }
        }
        if added {
            additions += 1
            if additions >= sampleSize { halve() }
        }
    }

    private mutating func halve() {
        for index in table.indices { table[index] = (table[index] >> 1) & 0x7777_7777_7777_7777 }
        additions /= 2
    }

    private func position(_ key: UInt64, row: Int) -> (word: Int, shift: UInt64) {
        let seeds: [UInt64] = [0xC3A5_C85C_97CB_3127, 0xB492_B66F_BE98_F273, 0x9AE1_6A3B_2F90_404F, 0xCBF2_9CE4_8422_2325]
        var hash = (key ^ seeds[row]) &* 0x9E37_79B9_7F4A_7C15
        hash ^= hash >> 32
        let index = Int(truncatingIfNeeded: hash) & mask
        return (index >> 4, UInt64(index & 15) << 2)
    }

    public var memoryBytes: Int { table.count * 8 + 32 }
}

extension Int {
    /// The smallest power of two ≥ self (1 for values ≤ 1).
    var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
