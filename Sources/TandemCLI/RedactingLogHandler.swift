import Logging

/// The broker's log handler for swift-otel's diagnostics, with the values of environment
/// overrides taken out: swift-otel logs each `OTEL_*` variable it applies with its value
/// (`environment_value`, `new_value`), and `OTEL_EXPORTER_OTLP_HEADERS` holds the collector's
/// credentials. Every metadata value whose key names a value or a header is `<redacted>`.
struct RedactingLogHandler: LogHandler {
    var base: any LogHandler

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    // Metadata attached to the logger (`logger[metadataKey:] = …`) is kept by the base handler,
    // which prints it with every message: redacted before it gets there.
    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = Self.redacted(newValue) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = Self.isSecret(key) && newValue != nil ? "<redacted>" : newValue }
    }

    func log(
        level: Logger.Level,
        message: Logger.Message,
        metadata: Logger.Metadata?,
        source: String,
        file: String,
        function: String,
        line: UInt
    ) {
        base.log(level: level, message: message, metadata: metadata.map(Self.redacted), source: source, file: file, function: function, line: line)
    }

    static func isSecret(_ key: String) -> Bool {
        let key = key.lowercased()
        return key.contains("value") || key.contains("header")
    }

    static func redacted(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result = metadata
        for key in metadata.keys where isSecret(key) { result[key] = "<redacted>" }
        return result
    }
}
