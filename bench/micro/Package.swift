// swift-tools-version:6.1
// Micro-benchmarks of Tandem's hot paths (issue 14), with malloc counts so that allocation
// regressions show up: ordo-one's package-benchmark, kept out of the main package so that its
// build and tests don't grow. Run with bench/micro.sh (see bench/README.md § Micro-benchmarks).
import PackageDescription

let package = Package(
    name: "tandem-micro",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "tandem", path: "../.."),
        // The MallocInterposer trait alone: it counts mallocs (mallocCountTotal); the default
        // traits would add RuntimeInterposer, whose package this machine doesn't have.
        .package(url: "https://github.com/ordo-one/package-benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "TandemMicro",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "TandemProtocol", package: "tandem"),
                .product(name: "TandemCore", package: "tandem"),
                .product(name: "NIOCore", package: "swift-nio"),
                // Only for the reference run of NIOWebSocket's own (byte-wise) unmask.
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Benchmarks/TandemMicro",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "package-benchmark")
            ]
        )
    ]
)
