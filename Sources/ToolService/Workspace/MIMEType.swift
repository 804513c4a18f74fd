/// MIME types of files, from their first bytes and, failing that, their extension.
enum MIMEType {
    static func detect(_ head: [UInt8], name: String) -> String {
        func starts(_ bytes: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + bytes.count && Array(head[offset..<(offset + bytes.count)]) == bytes
        }
        func starts(_ text: String, at offset: Int = 0) -> Bool { starts(Array(text.utf8), at: offset) }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts("GIF87a") || starts("GIF89a") { return "image/gif" }
        if starts("RIFF") && starts("WEBP", at: 8) { return "image/webp" }
        if starts("RIFF") && starts("WAVE", at: 8) { return "audio/wav" }
        if starts("BM") && name.lowercased().hasSuffix(".bmp") { return "image/bmp" }
        if starts([0x00, 0x00, 0x01, 0x00]) { return "image/x-icon" }
        if starts("%PDF-") { return "application/pdf" }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return "application/zip" }
        if starts([0x1F, 0x8B]) { return "application/gzip" }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return "application/x-xz" }
        if starts("BZh") { return "application/x-bzip2" }
        if starts([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { return "application/x-7z-compressed" }
        if starts("ustar", at: 257) { return "application/x-tar" }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return "application/x-elf" }
        if starts([0xCA, 0xFE, 0xBA, 0xBE]) { return "application/java-vm" }
        if starts([0x00, 0x61, 0x73, 0x6D]) { return "application/wasm" }
        if starts("SQLite format 3") { return "application/vnd.sqlite3" }
        if starts("ID3") || starts([0xFF, 0xFB]) { return "audio/mpeg" }
        if starts("OggS") { return "audio/ogg" }
        if starts("fLaC") { return "audio/flac" }
        if starts("ftyp", at: 4) { return "video/mp4" }
        let dot = name.lastIndex(of: ".").map { String(name[name.index(after: $0)...]).lowercased() } ?? ""
        return byExtension[dot] ?? "application/octet-stream"
    }

    /// The type of a text file (by extension; `text/plain` otherwise).
    static func text(name: String) -> String {
        let dot = name.lastIndex(of: ".").map { String(name[name.index(after: $0)...]).lowercased() } ?? ""
        return byExtension[dot].flatMap { $0.hasPrefix("text/") || $0.hasSuffix("json") || $0.hasSuffix("xml") || $0.hasSuffix("+xml") ? $0 : nil } ?? "text/plain"
    }

    private static let byExtension: [String: String] = [
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "svg": "image/svg+xml",
        "ico": "image/x-icon", "bmp": "image/bmp", "pdf": "application/pdf", "zip": "application/zip", "gz": "application/gzip",
        "tar": "application/x-tar", "mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg", "mp4": "video/mp4",
        "json": "application/json", "xml": "application/xml", "html": "text/html", "htm": "text/html", "css": "text/css",
        "csv": "text/csv", "md": "text/markdown", "txt": "text/plain", "js": "text/javascript", "yaml": "application/yaml",
        "yml": "application/yaml", "wasm": "application/wasm",
    ]
}
