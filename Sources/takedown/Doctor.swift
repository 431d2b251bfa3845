import ArgumentParser
import TakedownServer

/// Checks a deployment's settings and names each problem in one line; exits 1 when there is any.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this deployment's settings: public URL, templates, keys, store and mail relay.",
        discussion: """
            Changes nothing: no schema is migrated and no key or folder is created. Each check prints one \
            line, `ok` or `PROBLEM` with what to do; the exit status is 1 when any check found a problem.
            """)

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let settings: ServerSettings
        do {
            settings = try store.settings()
        } catch {
            print("PROBLEM  settings: \(error)")
            throw ExitCode(1)
        }
        let findings = await Doctor.check(settings)
        for finding in findings { print(finding.line) }
        if findings.contains(where: \.isProblem) { throw ExitCode(1) }
    }
}
