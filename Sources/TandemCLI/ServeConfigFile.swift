import Foundation
import TOMLKit

/// `tandem serve --config FILE`: every option of `serve` in a TOML file, in tables by concern
/// (deploy/tandem.toml is the example). A key is its flag's name with `_` for `-`
/// (`--control-rate` → `control_rate` in `[limits]`). The file becomes arguments placed before
/// the command line's, so a flag given on the command line wins, and so does a `TANDEM_*`
/// variable (the file's value is left out when it is set). Unknown tables and keys, and values
/// of the wrong type, are errors that name the key.
struct ServeConfigFile {
    enum Kind: Sendable {
        case string, integer, number, flag, strings
    }

    struct Entry: Sendable {
        var table: String
        var key: String
        var kind: Kind
        /// The variable that overrides the file, if any.
        var environment: String? = nil
        /// The effective value as TOML, for `--print-config`; secrets redacted.
        var value: @Sendable (Serve) -> String?

        var flag: String { "--" + key.replacingOccurrences(of: "_", with: "-") }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The file named by `--config FILE` or `--config=FILE` in `arguments`, if any.
    static func path(in arguments: [String]) -> String? {
        for (index, argument) in arguments.enumerated() {
            if argument == "--config", index + 1 < arguments.count { return arguments[index + 1] }
            if argument.hasPrefix("--config=") { return String(argument.dropFirst("--config=".count)) }
        }
        return nil
    }

    /// The file's settings as `serve` arguments, leaving out what `commandLine` or `environment` sets.
    static func arguments(fromFile path: String, commandLine: [String], environment: [String: String]) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Failure(description: "cannot read the config file \(path)") }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw Failure(description: "\(path): \(error.description) (\(error.source.begin.debugDescription))")
        }
        let given = Set(commandLine.filter { $0.hasPrefix("--") }.map { String($0.split(separator: "=", maxSplits: 1)[0]) })
        var arguments: [String] = []
        for (tableName, tableValue) in root {
            guard let table = tableValue.table else {
                throw Failure(description: "\(path): `\(tableName)` must be in a table (\(Self.tables.map { "[\($0)]" }.joined(separator: ", ")))")
            }
            for (key, value) in table {
                guard let entry = Self.entries.first(where: { $0.table == tableName && $0.key == key }) else {
                    let hint = Self.entries.first { $0.key == key }.map { " (it belongs in [\($0.table)])" } ?? ""
                    throw Failure(description: "\(path): unknown key [\(tableName)] \(key)\(hint)")
                }
                if given.contains(entry.flag) { continue }
                if let variable = entry.environment, environment[variable] != nil { continue }
                arguments += try Self.arguments(entry, value, file: path)
            }
        }
        return arguments
    }

    private static func arguments(_ entry: Entry, _ value: any TOMLValueConvertible, file: String) throws -> [String] {
        let name = "[\(entry.table)] \(entry.key)"
        switch entry.kind {
        case .string:
            guard let string = value.string else { throw Failure(description: "\(file): \(name) must be a string") }
            // One argument, `--flag=value`: a value starting with "-" is not taken for an option.
            return ["\(entry.flag)=\(string)"]
        case .integer:
            guard let integer = value.int else { throw Failure(description: "\(file): \(name) must be an integer") }
            return ["\(entry.flag)=\(integer)"]
        case .number:
            guard let number = value.double ?? value.int.map(Double.init) else { throw Failure(description: "\(file): \(name) must be a number") }
            return ["\(entry.flag)=\(number)"]
        case .flag:
            guard let bool = value.bool else { throw Failure(description: "\(file): \(name) must be true or false") }
            return bool ? [entry.flag] : []
        case .strings:
            guard let array = value.array else { throw Failure(description: "\(file): \(name) must be an array of strings") }
            return try array.flatMap { item -> [String] in
                guard let string = item.string else { throw Failure(description: "\(file): \(name) must be an array of strings") }
                return ["\(entry.flag)=\(string)"]
            }
        }
    }

    /// The effective configuration as TOML, in the file's layout; secrets redacted.
    static func render(_ serve: Serve) -> String {
        var lines = [
            "# tandem serve: the effective configuration (defaults, then the config file, TANDEM_* variables and flags).",
            "# Secrets are not shown: a database password is redacted; the webhook secret lives in its file or TANDEM_WEBHOOK_SECRET.",
        ]
        for table in tables {
            lines.append("")
            lines.append("[\(table)]")
            for entry in entries where entry.table == table {
                if let value = entry.value(serve) {
                    lines.append("\(entry.key) = \(value)")
                } else {
                    lines.append("# \(entry.key) is not set")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    static var tables: [String] {
        var seen: [String] = []
        for entry in entries where !seen.contains(entry.table) { seen.append(entry.table) }
        return seen
    }

    static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += String(format: "\\u%04X", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
