import ArgumentParser
import TandemServer

/// Every limit of protocol/README.md §13 as a `tandem serve` option (defaults are
/// ``BrokerConfiguration/Limits``'s; SECURITY.md lists what each protects).
struct LimitOptions: ParsableArguments {
    @Option(help: "Largest WebSocket message in bytes (frame header + payload).")
    var maxMessageSize: Int = BrokerConfiguration.Limits().maxMessageSize

    @Option(help: "Largest control (JSON) message in bytes.")
    var maxControlMessageSize: Int = BrokerConfiguration.Limits().maxControlMessageSize

    @Option(help: "Largest message in bytes before the broker has welcomed a connection (the hello); larger closes with 1009.")
    var helloMessageSize: Int = BrokerConfiguration.Limits().helloMessageSize

    @Option(help: "Largest message in bytes /v1/echo takes.")
    var echoMessageSize: Int = BrokerConfiguration.Limits().echoMessageSize

    @Option(help: "Control messages per second per connection (average); beyond it they are dropped with an error.")
    var controlRate: Double = BrokerConfiguration.Limits().controlRate.perSecond

    @Option(help: "Control messages a connection may send in one burst.")
    var controlBurst: Double = BrokerConfiguration.Limits().controlRate.burst

    @Option(help: "Logged messages (consent, stream changes, freezes) per second a customer may send (average); beyond it they are refused.")
    var customerLogRate: Double = BrokerConfiguration.Limits().customerLoggedRate.perSecond

    @Option(help: "Logged messages a customer may send in one burst.")
    var customerLogBurst: Double = BrokerConfiguration.Limits().customerLoggedRate.burst

    @Option(help: "Media frames per second per connection (average); beyond it they are dropped with an error.")
    var frameRate: Double = BrokerConfiguration.Limits().frameRate.perSecond

    @Option(help: "Media frames a connection may send in one burst.")
    var frameBurst: Double = BrokerConfiguration.Limits().frameRate.burst

    @Option(help: "Seconds' worth of the rate a connection may send beyond it before it is closed (4429).")
    var rateExcessSeconds: Double = BrokerConfiguration.Limits().controlRate.sustainedSeconds

    @Option(help: "Seconds without a message either way before a relay connection is closed (4413).")
    var idleTimeout: Int = Int(BrokerConfiguration.Limits().idleTimeout.components.seconds)

    @Option(help: "Seconds a new WebSocket has to send its hello (4408).")
    var helloTimeout: Int = Int(BrokerConfiguration.Limits().helloTimeout.components.seconds)

    @Option(help: "Seconds a new connection has to send its first HTTP request (covers the TLS handshake).")
    var firstRequestTimeout: Int = Int(BrokerConfiguration.Limits().firstRequestTimeout.components.seconds)

    @Option(help: "Seconds one HTTP request may take from its head to its last body byte.")
    var requestDeadline: Int = Int(BrokerConfiguration.Limits().requestDeadline.components.seconds)

    @Option(help: "Seconds an HTTP keep-alive connection may stay idle after a request.")
    var httpIdleTimeout: Int = Int(BrokerConfiguration.Limits().httpIdleTimeout.components.seconds)

    @Option(help: "Seconds a /v1/echo connection (a customer's connection test) may stay open.")
    var echoLifetime: Int = Int(BrokerConfiguration.Limits().echoLifetime.components.seconds)

    @Option(help: "Seconds a graceful shutdown (SIGTERM) may take before what still runs is cancelled.")
    var shutdownTimeout: Int = Int(BrokerConfiguration().shutdownTimeout.components.seconds)

    @Option(help: "HTTP connections (not WebSockets) one network (IPv4 address, IPv6 /64) may hold.")
    var httpConnectionsPerNetwork: Int = BrokerConfiguration.Limits().httpConnectionsPerNetwork

    @Option(help: "WebSockets one network may hold before a hello proves an agent (customers, echo); more get HTTP 429.")
    var websocketsPerNetwork: Int = BrokerConfiguration.Limits().anonymousWebSocketsPerNetwork

    @Option(help: "WebSockets of signed-in agents and admins one network may hold (a helpdesk behind one NAT).")
    var agentWebsocketsPerNetwork: Int = BrokerConfiguration.Limits().authenticatedWebSocketsPerNetwork

    @Option(help: "Milliseconds a media frame may wait in a recipient's queue before it is dropped as stale.")
    var mediaMaxAgeMs: Int = Int(BrokerConfiguration.Limits().mediaMaxAge.components.seconds * 1000)

    @Option(help: "Kernel send buffer per connection in bytes (SO_SNDBUF), 0 for the kernel's autotuning.")
    var sendBufferBytes: Int = BrokerConfiguration.Limits().sendBufferSize

    @Option(help: "Bytes written to a connection and not yet sent that the kernel may hold (TCP_NOTSENT_LOWAT, Linux), 0 for no limit.")
    var unsentBytes: Int = BrokerConfiguration.Limits().unsentBytes

    @Option(help: "Bytes a relay connection's writer hands to TLS before it waits for the connection (its write high-water mark).")
    var writeQueueBytes: Int = BrokerConfiguration.Limits().writeQueueBytes

    func validate() throws {
        guard (50...60_000).contains(mediaMaxAgeMs) else { throw ValidationError("--media-max-age-ms must be 50-60000") }
        guard (4096...(16 << 20)).contains(writeQueueBytes) else { throw ValidationError("--write-queue-bytes must be 4 KiB to 16 MiB") }
        guard unsentBytes == 0 || (4096...(16 << 20)).contains(unsentBytes) else {
            throw ValidationError("--unsent-bytes must be 0 (no limit) or 4 KiB to 16 MiB")
        }
        guard sendBufferBytes == 0 || (4096...(64 << 20)).contains(sendBufferBytes) else {
            throw ValidationError("--send-buffer-bytes must be 0 (autotuning) or 4 KiB to 64 MiB")
        }
        let sizes = [maxMessageSize, maxControlMessageSize, helloMessageSize, echoMessageSize]
        guard sizes.allSatisfy({ (1024...(64 << 20)).contains($0) }) else {
            throw ValidationError("message sizes must be 1 KiB to 64 MiB")
        }
        guard maxControlMessageSize <= maxMessageSize, helloMessageSize <= maxMessageSize, echoMessageSize <= maxMessageSize else {
            throw ValidationError("--max-control-message-size, --hello-message-size and --echo-message-size cannot exceed --max-message-size")
        }
        guard [controlRate, controlBurst, frameRate, frameBurst, rateExcessSeconds, customerLogRate, customerLogBurst].allSatisfy({ $0 > 0 }) else {
            throw ValidationError("rates, bursts and --rate-excess-seconds must be positive")
        }
        guard
            [idleTimeout, helloTimeout, firstRequestTimeout, requestDeadline, httpIdleTimeout, echoLifetime, shutdownTimeout].allSatisfy({ $0 >= 1 })
        else {
            throw ValidationError("timeouts must be at least 1 second")
        }
        guard [httpConnectionsPerNetwork, websocketsPerNetwork, agentWebsocketsPerNetwork].allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("connection caps must be at least 1")
        }
    }

    var limits: BrokerConfiguration.Limits {
        var limits = BrokerConfiguration.Limits()
        limits.maxMessageSize = maxMessageSize
        limits.maxControlMessageSize = maxControlMessageSize
        limits.helloMessageSize = helloMessageSize
        limits.echoMessageSize = echoMessageSize
        limits.controlRate = RateLimit(perSecond: controlRate, burst: controlBurst, sustainedSeconds: rateExcessSeconds)
        limits.frameRate = RateLimit(perSecond: frameRate, burst: frameBurst, sustainedSeconds: rateExcessSeconds)
        limits.customerLoggedRate = RateLimit(perSecond: customerLogRate, burst: customerLogBurst)
        limits.idleTimeout = .seconds(idleTimeout)
        limits.mediaMaxAge = .milliseconds(mediaMaxAgeMs)
        limits.sendBufferSize = sendBufferBytes
        limits.unsentBytes = unsentBytes
        limits.writeQueueBytes = writeQueueBytes
        limits.helloTimeout = .seconds(helloTimeout)
        limits.firstRequestTimeout = .seconds(firstRequestTimeout)
        limits.requestDeadline = .seconds(requestDeadline)
        limits.httpIdleTimeout = .seconds(httpIdleTimeout)
        limits.echoLifetime = .seconds(echoLifetime)
        limits.httpConnectionsPerNetwork = httpConnectionsPerNetwork
        limits.anonymousWebSocketsPerNetwork = websocketsPerNetwork
        limits.authenticatedWebSocketsPerNetwork = agentWebsocketsPerNetwork
        return limits
    }
}
