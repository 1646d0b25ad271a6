import ArgumentParser
import Foundation
import TandemCore
import TandemSQLite

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage agents, auditors and admins (on the broker's host; opens the database directly).",
        subcommands: [Add.self, List.self, Revoke.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user and print its API token once.")
        @OptionGroup var data: DataOptions
        @Argument(help: "User name (letters, digits, . _ - @).") var name: String
        @Option(help: "agent, auditor or admin.") var role: UserRole

        func validate() throws {
            guard UserRecord.isValidName(name) else { throw ValidationError("user names are 1-64 letters, digits, '.', '_', '-' or '@'") }
        }

        func run() async throws {
            let token = APIToken.generate()
            do {
                _ = try await data.withStore(logger: CLILog.logger("tandem.users")) { [name, role] store in
                    try await store.addUser(UserRecord(name: name, role: role, tokenHash: APIToken.hash(token), createdAt: Date()))
                }
            } catch let error as StoreError where error == .duplicateName {
                throw ValidationError("a user named \(name) already exists")
            }
            print("Added \(role.rawValue) \(name). API token (shown only once, store it now):")
            print(token)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            let users = try await data.withStore(logger: CLILog.logger("tandem.users")) { store in try await store.users() }
            let rows = users.map { user in
                [user.name, user.role.rawValue, Formatting.timestamp(user.createdAt), user.revokedAt.map(Formatting.timestamp) ?? "active"]
            }
            print(Formatting.table(header: ["NAME", "ROLE", "CREATED", "STATUS"], rows: rows), terminator: "")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a user's token.")
        @OptionGroup var data: DataOptions
        @Argument var name: String

        func run() async throws {
            let revoked = try await data.withStore(logger: CLILog.logger("tandem.users")) { [name] store in
                try await store.revokeUser(name: name, at: Date())
            }
            guard revoked else { throw ValidationError("no active user named \(name)") }
            print("Revoked \(name).")
        }
    }
}

extension UserRole: ExpressibleByArgument {}
