import Foundation
import TakedownDocuments
import TakedownResources
import TakedownServer
import TakedownTestSupport
import Testing

@Suite("The files built into the binary")
struct BundledFilesTests {
    @Test("every file of Templates/ and Schemas/ is built in, byte for byte")
    func sameAsTheRepository() throws {
        var expected: [String: String] = [:]
        for (folder, url) in [("Templates", Repository.templates), ("Schemas", Repository.schemas)] {
            // Subfolders too (`Templates/console/`).
            for case let name as String in FileManager.default.enumerator(atPath: url.path)!
            where !name.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                var directory: ObjCBool = false
                _ = FileManager.default.fileExists(
                    atPath: url.appendingPathComponent(name).path, isDirectory: &directory)
                if directory.boolValue { continue }
                expected["\(folder)/\(name)"] = try String(
                    contentsOf: url.appendingPathComponent(name), encoding: .utf8)
            }
        }
        #expect(expected.count >= 16)
        #expect(expected["Templates/console/layout.mustache"] != nil)
        #expect(Set(BundledFiles.all.keys) == Set(expected.keys))
        for (path, text) in expected { #expect(BundledFiles.all[path] == text, "\(path) differs") }
        #expect(BundledFiles.openAPI == Data(expected["Schemas/openapi.json", default: "missing"].utf8))
    }

    @Test("the built-in templates load in three languages; a folder overrides them, and a broken one stops start-up")
    func overrides() async throws {
        let builtIn = try await ServerSettings(environment: [:]).noticeTemplates()
        #expect(builtIn.languages == ["de", "en", "fr"])
        #expect(builtIn.legalBases.bases(for: "DE").isEmpty == false)

        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, text) in BundledFiles.folder("Templates")
        where !name.hasSuffix(".fr.mustache") && !name.contains("/") {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let settings = try ServerSettings(environment: ["TAKEDOWN_TEMPLATES_DIR": directory.path])
        #expect(try await settings.noticeTemplates().languages == ["de", "en"])

        try "{{#unclosed}}".write(
            to: directory.appendingPathComponent("notice.de.mustache"), atomically: true, encoding: .utf8)
        await #expect(throws: TemplateError.self) { _ = try await settings.noticeTemplates() }
        try BundledFiles.all["Templates/notice.de.mustache", default: ""].write(
            to: directory.appendingPathComponent("notice.de.mustache"), atomically: true, encoding: .utf8)
        #expect(try await settings.noticeTemplates().languages == ["de", "en"])
        try FileManager.default.removeItem(at: directory.appendingPathComponent("legal-bases.json"))
        await #expect(throws: TemplateError.self) { _ = try await settings.noticeTemplates() }
    }
}
