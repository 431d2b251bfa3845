import Foundation

/// The release `takedown` binary beside this one, serving a fresh data folder on a loopback port, and a
/// fresh PostgreSQL database when the benchmark was given `--database-url`.
final class GatewayProcess: @unchecked Sendable {
    let process: Process
    let baseURL: String
    let adminToken: String
    let directory: URL
    let executable: URL
    let environment: [String: String]
    var workers: [Process] = []

    private init(
        process: Process, baseURL: String, adminToken: String, directory: URL, executable: URL,
        environment: [String: String]
    ) {
        self.executable = executable
        self.environment = environment
        self.process = process
        self.baseURL = baseURL
        self.adminToken = adminToken
        self.directory = directory
    }

    /// `database` names the PostgreSQL database made anew for this gateway (a second gateway needs another).
    static func start(
        options: BenchOptions, environment extra: [String: String] = [:], database: String = BenchDatabase.name
    ) async throws -> GatewayProcess {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("takedown")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw BenchError("no takedown binary at \(executable.path); build both products in one configuration")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "takedown-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let token = "tdk_bench-admin-" + UUID().uuidString.lowercased()
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TAKEDOWN_") }
        environment["TAKEDOWN_BOOTSTRAP_ADMIN_TOKEN"] = token
        environment["TAKEDOWN_LOG_LEVEL"] = "warning"
        // The benchmark measures what the gateway can do, not the per-caller limits an operator sets.
        environment["TAKEDOWN_RATE_LIMITS"] = "off"
        // The benchmark's URLs are synthetic; verification would fetch them from the internet.
        environment["TAKEDOWN_VERIFY_WORKER"] = "0"
        if let url = options.databaseURL {
            environment["TAKEDOWN_DATABASE_URL"] = try await BenchDatabase.recreate(url, name: database)
        }
        environment.merge(extra) { $1 }
        // A port below Linux's ephemeral range (32768–60999), so that no outgoing connection holds it; one
        // taken all the same (the gateway exits at once) is tried again with another.
        for attempt in 1...5 {
            let port = Int.random(in: 20_000..<32_000)
            let process = Process()
            process.executableURL = executable
            process.arguments = ["serve", "--host", "127.0.0.1", "--port", "\(port)", "--data-dir", directory.path]
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let server = GatewayProcess(
                process: process, baseURL: "http://127.0.0.1:\(port)", adminToken: token, directory: directory,
                executable: executable, environment: environment)
            do {
                try await server.waitUntilReady()
                return server
            } catch let error as BenchError where !process.isRunning && attempt < 5 {
                print("takedown-bench: \(error); trying another port")
            }
        }
        throw BenchError("the gateway did not start on any of five ports")
    }

    func waitUntilReady() async throws {
        let client = BenchClient(baseURL: baseURL, connections: 1)
        for _ in 0..<200 {
            guard process.isRunning else {
                try await client.shutdown()
                throw BenchError("the gateway at \(baseURL) exited with status \(process.terminationStatus)")
            }
            if (try? await client.request("GET", "/readyz").status) == 200 {
                try await client.shutdown()
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await client.shutdown()
        throw BenchError("the gateway did not become ready at \(baseURL)")
    }

    /// Starts `count` `takedown worker` processes on the same store (for a gateway started without its own
    /// worker): one instance each, sharing the PostgreSQL database when there is one.
    func startWorkers(_ count: Int = 1) throws {
        for _ in 0..<count {
            let worker = Process()
            worker.executableURL = executable
            worker.arguments = ["worker", "--data-dir", directory.path]
            var environment = self.environment
            environment.removeValue(forKey: "TAKEDOWN_OUTBOX_WORKER")
            worker.environment = environment
            worker.standardOutput = FileHandle.nullDevice
            try worker.run()
            workers.append(worker)
        }
    }

    /// Stops the gateway; safe to call twice.
    func stop() {
        for worker in workers where worker.isRunning {
            worker.terminate()
            worker.waitUntilExit()
        }
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}
