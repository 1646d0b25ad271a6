import ArgumentParser

@main
struct Tandem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Remote-assistance session broker: agents start sessions, customers join with a code, auditors review the log.",
        subcommands: [Serve.self, Users.self, Session.self, Queue.self, HelpLinkCommand.self, Join.self, Audit.self, Replay.self, Bench.self]
    )
}
