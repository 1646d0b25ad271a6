import ArgumentParser
import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry tracing of `tandem serve` (README "Install and operate"), off unless
/// `--otel-endpoint` names a collector: then a server span for every HTTP request and one span
/// per session (start to logged ending) go to it over OTLP/HTTP. The usual `OTEL_*` variables
/// (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_SCHEDULE_DELAY`, …) refine an enabled exporter;
/// none of them turns tracing on by itself.
struct TelemetryOptions: ParsableArguments {
    @Option(help: "OTLP/HTTP collector URL (http://collector:4318; spans go to /v1/traces). Off without it (env TANDEM_OTEL_ENDPOINT).")
    var otelEndpoint: String?

    /// `--otel-endpoint`, else `TANDEM_OTEL_ENDPOINT`.
    var endpoint: String? { otelEndpoint ?? ProcessInfo.processInfo.environment["TANDEM_OTEL_ENDPOINT"] }

    @Option(help: "OTLP encoding: http-protobuf or http-json.")
    var otelProtocol: String = "http-protobuf"

    @Option(help: "The service.name of the spans.")
    var otelServiceName: String = "tandem"

    @Option(help: "Share of new traces kept, 0-1.")
    var otelSampleRatio: Double = 1

    @Flag(help: "Continue the trace of a request's traceparent header (only behind a proxy that sets or strips it: anyone can send one).")
    var otelTrustTraceparent = false

    func validate() throws {
        if let endpoint {
            guard let url = URL(string: endpoint), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("--otel-endpoint must be an http(s):// URL")
            }
        }
        guard ["http-protobuf", "http-json"].contains(otelProtocol) else {
            throw ValidationError("--otel-protocol must be http-protobuf or http-json")
        }
        guard (0...1).contains(otelSampleRatio) else { throw ValidationError("--otel-sample-ratio must be 0-1") }
        guard !otelServiceName.isEmpty else { throw ValidationError("--otel-service-name must not be empty") }
    }

    /// The traces URL: the collector's base URL gets `/v1/traces`, a URL naming a path is kept.
    static func tracesURL(_ endpoint: String) -> String {
        guard let url = URL(string: endpoint), url.path.isEmpty || url.path == "/" else { return endpoint }
        return endpoint.hasSuffix("/") ? endpoint + "v1/traces" : endpoint + "/v1/traces"
    }

    /// With `--otel-endpoint`: makes the exporter, bootstraps the process's tracer with it and
    /// returns the service that batches and sends the spans (run it in the broker's group, to
    /// stop after the broker so the last sessions' spans are flushed). Nil when tracing is off.
    func bootstrapTracing(logger: Logger) throws -> (any Service)? {
        guard let otelEndpoint = endpoint else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = otelServiceName
        // swift-otel logs the OTEL_* variables it applies with their values: not those.
        var diagnostics = logger
        diagnostics.handler = RedactingLogHandler(base: logger.handler)
        configuration.diagnosticLogger = .custom(diagnostics)
        configuration.diagnosticLogLevel = .warning
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = Self.tracesURL(otelEndpoint)
        configuration.traces.otlpExporter.protocol = otelProtocol == "http-json" ? .httpJSON : .httpProtobuf
        if let sampler = OTel.Configuration.TracesConfiguration.SamplerConfiguration.parentBasedTraceIDRatio(ratio: otelSampleRatio) {
            configuration.traces.sampler = sampler
        }
        configuration.propagators = [.traceContext]
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        logger.notice("Tracing on", metadata: ["tandem.otel.endpoint": "\(ServeConfigFile.redacted(Self.tracesURL(otelEndpoint)))"])
        return backend.service
    }
}
