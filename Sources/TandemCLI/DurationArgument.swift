import ArgumentParser

/// A time on the command line: whole seconds (`20`) or with a unit (`20s`, `5m`, `1h`).
struct DurationArgument: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    var seconds: Int

    init(seconds: Int) {
        self.seconds = seconds
    }

    init?(argument: String) {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
        var text = Substring(argument.trimmingCharacters(in: .whitespaces))
        var unit = 1
        if let last = text.last, let factor = units[last] {
            unit = factor
            text = text.dropLast()
        }
        guard let value = Int(text), value >= 0, value <= 86_400 / unit else { return nil }
        seconds = value * unit
    }

    var duration: Duration { .seconds(seconds) }
    /// As the config file writes it: whole seconds.
    var description: String { String(seconds) }
    var defaultValueDescription: String { String(seconds) }
}
