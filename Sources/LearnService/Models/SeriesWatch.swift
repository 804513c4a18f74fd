import Learning

/// One watched series: its anomaly detector and, for error rates, the running rate it scores
/// (an exponentially weighted share of failed calls, α = 0.05).
struct SeriesWatch: Sendable {
    var detector: NoveltyDetector
    var errorRate = 0.0

    init(probation: Int) {
        var configuration = NoveltyDetector.Configuration(probation: probation)
        // 512 windows per channel keep a watch near 100 KB.
        configuration.capacity = 512
        detector = NoveltyDetector(configuration: configuration)
    }

    init(from reader: inout BinaryReader) throws(CheckpointError) {
        detector = try NoveltyDetector(from: &reader)
        errorRate = try reader.double()
    }

    func encode(into writer: inout BinaryWriter) {
        detector.encode(into: &writer)
        writer.double(errorRate)
    }
}
