import ArgumentParser
import Foundation

@main
struct Tandem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Remote-assistance session broker: agents start sessions, customers join with a code, auditors review the log.",
        subcommands: [
            Serve.self, Users.self, Session.self, Queue.self, AgentCommand.self, FloorCommand.self, HelpLinkCommand.self, Join.self, Audit.self,
            Replay.self, Bench.self,
        ]
    )

    /// `tandem serve --config FILE` puts the file's settings before the command line's
    /// (``ServeConfigFile``); everything else goes to ArgumentParser as typed.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "serve", let path = ServeConfigFile.path(in: arguments) {
            do {
                let rest = Array(arguments.dropFirst())
                let fromFile = try ServeConfigFile.arguments(fromFile: path, commandLine: rest, environment: ProcessInfo.processInfo.environment)
                arguments = ["serve"] + fromFile + rest
            } catch {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
        }
        await main(arguments)
    }
}
