import ArgumentParser

/// `LearnEval`: the learn service's offline evaluation and benchmarks.
@main
struct LearnEval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "LearnEval",
        abstract: "Evaluate and benchmark the learn service's algorithms.",
        subcommands: [NABRunCommand.self, NABScoreCommand.self, ReportCommand.self]
    )
}
