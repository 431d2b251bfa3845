import Foundation
import TakedownDocuments
import TakedownModel
import TakedownTestSupport
import Testing

@Suite("Documents")
struct DocumentsTests {
    static func composer() async throws -> NoticeComposer {
        NoticeComposer(
            issuer: IssuerProfile(trustedFlaggerDesignatedBy: "Coimisiún na Meán"), publicURL: "https://gateway.test/",
            templates: try await NoticeTemplates(directory: Repository.templates))
    }

    static func document(
        locale: String = "en", jurisdiction: String = "DE", classification: IndustryClassification? = .a2
    )
        async throws -> NoticeDocument
    {
        var partner = Synthetic.partner(locale: locale)
        partner.jurisdiction = jurisdiction
        var record = Synthetic.caseRecord(urls: ["https://cdn.example.com/a.jpg", "http://198.51.100.4/b.jpg"])
        record.category.classification = classification
        record.items[1].ip = nil
        record.items[1].hashes = Hashes(pdq: Synthetic.hex(64), pdqQuality: 80, photodna: "AAECAw==")
        return try await composer().document(
            id: .generate(), for: record, items: record.items, recipient: partner, issuedAt: Synthetic.epoch,
            deadlineAt: Synthetic.epoch.addingTimeInterval(86400))
    }

    @Test("templates load: English, German and French")
    func languages() async throws {
        let templates = try await NoticeTemplates(directory: Repository.templates)
        #expect(templates.languages == ["de", "en", "fr"])
        #expect(templates.language(for: "de-AT") == "de")
        #expect(templates.language(for: "FR") == "fr")
        #expect(templates.language(for: "pt-BR") == "en")
    }

    @Test("a language without its full set of templates stops start-up")
    func incompleteSet() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in try FileManager.default.contentsOfDirectory(atPath: Repository.templates.path) {
            try FileManager.default.copyItem(
                at: Repository.templates.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        try FileManager.default.removeItem(at: directory.appendingPathComponent("good-faith.fr.mustache"))
        await #expect(throws: TemplateError.self) { _ = try await NoticeTemplates(directory: directory) }
        try FileManager.default.removeItem(at: directory.appendingPathComponent("legal-bases.json"))
        await #expect(throws: TemplateError.self) {
            _ = try await NoticeTemplates(directory: Repository.templates.appendingPathComponent("missing"))
        }
    }

    @Test("the document carries the DSA Article 16 elements and the JWT claims")
    func document() async throws {
        let document = try await Self.document(locale: "de")
        #expect(document.iss == "https://gateway.test")
        #expect(document.jti == document.id)
        #expect(document.aud == document.recipient.partnerId)
        #expect(document.iat == 1_800_000_000)
        #expect(document.issuedAt == "2027-01-15T08:00:00.000Z")
        #expect(document.language == "de")
        #expect(document.explanation.contains("Analyst"))
        #expect(document.goodFaithStatement.contains("Treu und Glauben"))
        #expect(document.issuer.trustedFlagger.designated)
        #expect(document.legalBasis.map(\.jurisdiction) == ["DE", "EU", "EU", "INT", "INT"])
        #expect(document.category.xarfClassification == "A2")
        #expect(document.items.count == 2)
        #expect(document.response.removal.hasSuffix("/v1/notices/\(document.id)/removal"))
        #expect(document.requestedAction.preserveEvidence)
        #expect(
            try await Self.document(jurisdiction: "GB", classification: nil).category.xarfClassification == "baseline")
    }

    @Test("canonical JSON is stable, sorted and decodes to the same document")
    func canonical() async throws {
        let document = try await Self.document()
        let bytes = try document.canonicalJSON()
        #expect(try document.canonicalJSON() == bytes)
        #expect(try NoticeDocument.decode(bytes) == document)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("\\/"))
        #expect(!text.contains("\n"))
        #expect(text.hasPrefix(#"{"appeal":"#))
        #expect(text.contains(#""good_faith_statement":"#))
    }

    /// The hand-written canonical form against `JSONEncoder` (sorted keys, unescaped slashes, snake_case):
    /// every optional set, every optional nil, and strings with each control character, quotes, slashes,
    /// non-ASCII and line separators. A field added to the notice and not to its canonical form fails here.
    @Test("canonical JSON is byte for byte what JSONEncoder writes, every optional set or left out")
    func canonicalMatchesEncoder() async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var document = try await Self.document()
        let awkward =
            (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }.joined()
            + "\"/\\é😀\u{2028}\u{2029}\u{7F}<script>&"
        document.explanation = awkward
        document.issuer.website = "https://hotline.example.com/about?a=1&b=2"
        document.issuer.trustedFlagger.designatedBy = awkward
        document.issuer.trustedFlagger.scope = "CSAM"
        document.category.classification = "A2"
        document.items[0].ip = "2001:db8::7"
        document.items[0].hashes = Hashes(
            md5: Synthetic.hex(32), sha1: Synthetic.hex(40), sha256: Synthetic.hex(64), pdq: Synthetic.hex(64),
            pdqQuality: 100, photodna: "AAEC")
        document.items[0].trace = NoticeDocument.Trace(
            HostingTrace(
                host: "cdn.example.com", resolution: .resolved, addresses: ["192.0.2.7", "2001:db8::7"],
                address: "192.0.2.7", asn: 64_500, asName: "EXAMPLE-NET", country: "GB", basis: .hostingCountry,
                tracedAt: Date(timeIntervalSince1970: 1_800_000_000)))
        #expect(try document.canonicalJSON() == (try encoder.encode(document)))

        document.issuer.website = nil
        document.issuer.trustedFlagger.designated = false
        document.issuer.trustedFlagger.designatedBy = nil
        document.issuer.trustedFlagger.scope = nil
        document.category.classification = nil
        document.items = document.items.map { item in
            var item = item
            item.ip = nil
            item.hashes = Hashes(sha256: Synthetic.hex(64))
            item.trace = NoticeDocument.Trace(
                HostingTrace(host: nil, resolution: .off, basis: .none, tracedAt: Date(timeIntervalSince1970: 0)))
            return item
        }
        document.legalBasis = []
        #expect(try document.canonicalJSON() == (try encoder.encode(document)))
        document.items = []
        #expect(try document.canonicalJSON() == (try encoder.encode(document)))
    }

    @Test("the notice text renders in the asked language with the items and links")
    func text() async throws {
        let document = try await Self.document()
        let templates = try await NoticeTemplates(directory: Repository.templates)
        let english = templates.text(of: document, status: .delivered, language: "en")
        #expect(english.hasPrefix("TAKEDOWN NOTICE \(document.id)"))
        #expect(english.contains("Current status: delivered"))
        #expect(english.contains("https://cdn.example.com/a.jpg"))
        #expect(english.contains("IP 192.0.2.7"))
        #expect(english.contains("PDQ: \(document.items[1].hashes.pdq!) (quality 80)"))
        #expect(!english.contains("IP \n"))
        #expect(english.contains("Trusted flagger designated by Coimisiún na Meán."))
        #expect(!english.contains("&"))
        #expect(templates.text(of: document, language: "fr").hasPrefix("NOTIFICATION DE RETRAIT"))
        #expect(templates.text(of: document, language: "de").contains("Rechtsgrundlage"))
        #expect(templates.text(of: document, language: "xx").hasPrefix("TAKEDOWN NOTICE"))
    }

    @Test("XARF: one content/csam report per item, stable ids")
    func xarf() async throws {
        let document = try await Self.document()
        let items = document.items.map { NoticeItem(url: $0.url) }
        let reports = XARFReport.reports(for: document, items: items, issuer: IssuerProfile())
        #expect(reports.count == 2)
        #expect(reports[0]["category"] as? String == "content")
        #expect(reports[0]["type"] as? String == "csam")
        #expect(reports[0]["domain"] as? String == "cdn.example.com")
        #expect(reports[1]["domain"] == nil)
        #expect(reports[0]["source_identifier"] as? String == "192.0.2.7")
        #expect(reports[1]["source_identifier"] as? String == "198.51.100.4")
        #expect((reports[1]["hash_values"] as? [String: String])?["photodna"] == "AAECAw==")
        #expect(reports[0]["content_removed"] as? Bool == false)
        let again = XARFReport.reports(for: document, items: items, issuer: IssuerProfile())
        #expect(reports.map { $0["report_id"] as? String } == again.map { $0["report_id"] as? String })
        let id = try #require(reports[0]["report_id"] as? String)
        #expect(UUID(uuidString: id) != nil)
        #expect(reports[0]["report_id"] as? String != reports[1]["report_id"] as? String)
    }
}
