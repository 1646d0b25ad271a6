// swift-tools-version:6.1
// libFuzzer targets for the decoders that read untrusted bytes: binary media frames
// (protocol/README.md §4), JSON control messages (§5) and recording entries (§19). Sources/TandemProtocol is the
// broker's own protocol module (a symbolic link), built here with -sanitize=fuzzer.
// Build and run with scripts/fuzz.sh, not directly.
import PackageDescription

let package = Package(
    name: "tandem-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")
    ],
    targets: [
        .target(
            name: "TandemProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // libFuzzer's driver entry, shared by the targets.
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzMediaFrame", dependencies: ["FuzzDriver", "TandemProtocol", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(
            name: "FuzzControlMessage",
            dependencies: ["FuzzDriver", "TandemProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(name: "FuzzRecording", dependencies: ["FuzzDriver", "TandemProtocol", .product(name: "NIOCore", package: "swift-nio")]),
    ]
)
