// swift-tools-version:6.2
import PackageDescription

/// Our own targets build in Swift 6 language mode with every warning an error: the stack probe
/// caught silent blocking-overload picks that only showed up as warnings.
let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "takedown-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "takedown", targets: ["takedown"]),
        .executable(name: "takedown-bench", targets: ["takedown-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        .target(name: "TakedownModel", swiftSettings: strict),
        .target(
            name: "TakedownStore",
            dependencies: ["TakedownModel", "TakedownSigning", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "TakedownSQLite",
            dependencies: [
                "TakedownModel", "TakedownStore", "TakedownSigning", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TakedownPostgres",
            dependencies: [
                "TakedownModel", "TakedownStore", "TakedownSigning",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TakedownSigning",
            dependencies: ["TakedownModel", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // Templates/ and Schemas/ built into the binary, so that it runs from any folder.
        .executableTarget(name: "embed-files", swiftSettings: strict),
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["embed-files"]),
        .target(name: "TakedownResources", swiftSettings: strict, plugins: ["EmbedFiles"]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(
            name: "TakedownDocuments",
            dependencies: [
                "TakedownModel", "CLibXML2", .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TakedownService",
            dependencies: [
                "TakedownModel", "TakedownStore", "TakedownSigning", "TakedownDocuments",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TakedownAPI",
            dependencies: [
                "TakedownService", "TakedownSigning", "TakedownStore", "TakedownModel", "TakedownDocuments",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(
            name: "TakedownOutbox",
            dependencies: [
                "TakedownModel", "TakedownStore", "TakedownSigning", "TakedownDocuments", "CCurl",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TakedownServer",
            dependencies: [
                "TakedownAPI", "TakedownSQLite", "TakedownPostgres", "TakedownOutbox", "TakedownResources",
                "TakedownService", "TakedownStore", "TakedownModel", "TakedownSigning", "TakedownDocuments",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "takedown",
            dependencies: [
                "TakedownServer", "TakedownOutbox", "TakedownPostgres", "TakedownSQLite", "TakedownService",
                "TakedownSigning", "TakedownDocuments", "TakedownModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "takedown-bench",
            dependencies: [
                "TakedownSigning", "TakedownPostgres", "LoopbackDNS",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // A DNS server on 127.0.0.1 for the tests and the benchmark (nothing else of the tests).
        .target(name: "LoopbackDNS", path: "Tests/LoopbackDNS", swiftSettings: strict),
        .target(
            name: "TakedownTestSupport",
            dependencies: [
                "TakedownModel", "TakedownStore", "TakedownService", "TakedownSQLite", "TakedownPostgres",
                "TakedownServer", "TakedownSigning", "LoopbackDNS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TakedownTestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "TakedownModelTests", dependencies: ["TakedownModel"], swiftSettings: strict),
        .testTarget(
            name: "TakedownSQLiteTests",
            dependencies: [
                "TakedownSQLite", "TakedownStore", "TakedownModel", "TakedownSigning", "TakedownTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TakedownPostgresTests",
            dependencies: [
                "TakedownPostgres", "TakedownSQLite", "TakedownServer", "TakedownSigning", "TakedownStore",
                "TakedownModel",
                "TakedownTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TakedownSigningTests",
            dependencies: [
                "TakedownSigning", "TakedownModel", "TakedownTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TakedownDocumentsTests",
            dependencies: ["TakedownDocuments", "TakedownModel", "TakedownTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TakedownOutboxTests",
            dependencies: [
                "TakedownOutbox", "TakedownServer", "TakedownService", "TakedownSigning", "TakedownStore",
                "TakedownModel", "TakedownTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TakedownAPITests",
            dependencies: [
                "TakedownAPI", "TakedownDocuments", "TakedownOutbox", "TakedownResources", "TakedownServer",
                "TakedownService", "TakedownSigning", "TakedownStore", "TakedownModel", "TakedownTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
