/// Sizes of standard containers as the models report them in `memoryBytes`.
public enum MemoryFootprint {
    /// A dictionary's storage: Swift keeps at most 3/4 of its power-of-two buckets in use (`capacity`);
    /// keys and values are stored in separate arrays next to a bitmap of occupied buckets.
    public static func dictionary<Key, Value>(_ table: [Key: Value]) -> Int {
        table.capacity == 0 ? 0 : storage(buckets: table.capacity.nextPowerOfTwo, key: MemoryLayout<Key>.stride, value: MemoryLayout<Value>.stride)
    }

    /// A dictionary able to hold `capacity` entries without growing.
    public static func dictionary(capacity: Int, key: Int, value: Int) -> Int {
        capacity <= 0 ? 0 : storage(buckets: ((capacity * 4 + 2) / 3).nextPowerOfTwo, key: key, value: value)
    }

    private static func storage(buckets: Int, key: Int, value: Int) -> Int {
        buckets * (key + value) + buckets / 8 + 64
    }

    /// An array's storage.
    public static func array<Element>(_ array: [Element]) -> Int {
        array.capacity == 0 ? 0 : array.capacity * MemoryLayout<Element>.stride + 32
    }

    /// The heap bytes of a string beyond its 16-byte value: none up to 15 UTF-8 bytes (stored inline).
    public static func heap(_ text: String) -> Int {
        let count = text.utf8.count
        return count <= 15 ? 0 : 32 + (count + 16) & ~15
    }
}
