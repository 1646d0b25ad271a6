import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

/// `tandem floor`: the sign-in link of the `/floor` dashboard (protocol/README.md §20.6).
struct FloorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floor",
        abstract: "Print a sign-in link to the live floor dashboard (/floor; admins).",
        discussion: "The link signs you in for --valid (a shift by default); do not share it."
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var tokenOptions: TokenOptions
    @Option(help: "How long the sign-in lasts, in hours (at most 12).") var valid: Double = 8

    func validate() throws {
        guard valid * 3600 >= 60, valid <= 12 else { throw ValidationError("--valid must be between 1 minute and 12 hours") }
    }

    func run() async throws {
        let grant = try await withAPI(connection, tokenOptions, refusal: "floor sign-in refused") {
            try await $0.consoleToken(lifetime: Int(valid * 3600))
        }
        // The console link's base, with the floor's path.
        let url = grant.url.replacingOccurrences(of: "/agent#token=", with: "/floor#token=")
        say("Open the floor (the link signs you in until \(Formatting.timestamp(grant.expiresAt)); do not share it):")
        say(url)
    }
}
