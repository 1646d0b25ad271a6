import PostgresNIO
import TandemCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads `postgres://user:password@host:port/database?sslmode=…&schema=…` into a client configuration.
/// Errors never repeat the URL (it may hold a password).
enum PostgresURL {
    static func configuration(_ url: String) throws -> (PostgresClient.Configuration, schema: String?) {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql",
            let host = components.host, !host.isEmpty
        else {
            throw StoreError.invalidConfiguration("expected postgres://user[:password]@host[:port]/database")
        }
        let user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw StoreError.invalidConfiguration("sslmode must be disable, prefer or require")
        }
        let configuration = PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: user,
            password: password,
            database: database.isEmpty ? nil : database,
            tls: tls
        )
        return (configuration, components.queryItems?.first { $0.name == "schema" }?.value)
    }
}
