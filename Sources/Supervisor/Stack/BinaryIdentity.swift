import Foundation

/// A program file's identity: device, inode, size and modification time.
struct BinaryIdentity: Sendable, Equatable, CustomStringConvertible {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64

    init(path: String) {
        var info = stat()
        if stat(path, &info) == 0 {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        } else {
            device = 0
            inode = 0
            size = -1
            modified = 0
        }
    }

    var description: String { "inode \(inode), \(size) bytes, modified \(Date(timeIntervalSince1970: Double(modified) / 1e9))" }
}
