import Foundation
import TakedownDocuments
import TakedownModel
import TakedownTestSupport
import Testing

/// Pages of a source and feedback submissions, read by libxml2's streaming reader: what the gateway writes
/// reads back, and hostile documents are refused whole, with a reason, and never expanded.
@Suite("NCMEC hash-sharing XML, read")
struct NCMECReadingTests {
    static let ns = NCMECDialect.namespace

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func error(_ document: String) -> String? {
        do {
            _ = try NCMECDialect.readEntriesPage(bytes(document))
            return nil
        } catch let error as XMLReadError {
            return error.description
        } catch {
            return "\(error)"
        }
    }

    @Test("a page the gateway writes reads back: entries, tombstones with their reason, the next link")
    func roundTrip() async throws {
        let changes = [
            NCMECDialectTests.change(1), NCMECDialectTests.change(2, .video, at: 5),
            NCMECDialectTests.change(3, delete: true, at: 9),
        ]
        let next = NCMECDialect.entriesLink(
            from: Synthetic.epoch, to: Synthetic.epoch.addingTimeInterval(60), start: 4, size: 3, max: 9)
        var written: [UInt8] = []
        try await NCMECDialect.EntriesPage(changes: changes, member: NCMECDialectTests.hotline, next: next).write {
            written += $0
        }
        let page = try NCMECDialect.readEntriesPage(written)
        #expect(page.next == next)
        #expect(page.changes.count == 3)
        let byID = Dictionary(uniqueKeysWithValues: page.changes.map { ($0.remoteId, $0) })
        let first = try #require(byID[changes[0].entryId.rawValue])
        #expect(first.member == 7 && first.mediaType == .image && !first.deleted && first.classification == .a1)
        #expect(first.hashes.md5 == changes[0].hashes.md5 && first.hashes.sha256 == changes[0].hashes.sha256)
        #expect(first.timestamp == Synthetic.epoch)
        #expect(byID[changes[1].entryId.rawValue]?.mediaType == .video)
        let tombstone = try #require(byID[changes[2].entryId.rawValue])
        #expect(tombstone.deleted && tombstone.reason == .falsePositive && tombstone.hashes == Hashes())
    }

    @Test("NCMEC's own shape reads: fingerprint types the gateway does not keep are skipped")
    func ncmecShape() throws {
        let md5 = Synthetic.hex(32).uppercased()
        let page = try NCMECDialect.readEntriesPage(
            Self.bytes(
                """
                <?xml version="1.0" encoding="UTF-8"?>
                <queryResult xmlns="\(Self.ns)">
                  <images count="1" maxTimestamp="2019-11-28T20:40:35Z">
                    <image>
                      <member id="5">Example ESP</member>
                      <timestamp>2019-11-28T20:40:35Z</timestamp>
                      <id>8fbdb4c6-6a8b-4d1b-8b2a-000000000001</id>
                      <classification>B2</classification>
                      <fingerprints><md5>\(md5)</md5><pdna>1,2,3</pdna><netclean>abc</netclean></fingerprints>
                      <feedback><affirmativeFeedback type="Md5"><members/></affirmativeFeedback></feedback>
                    </image>
                  </images>
                  <paging><next>/v2/entries?from=2019-11-28T00%3A00%3A00Z&amp;to=2019-11-29T00%3A00%3A00Z&amp;start=2&amp;size=1&amp;max=9</next></paging>
                </queryResult>
                """))
        #expect(page.changes.count == 1)
        #expect(page.changes[0].hashes == Hashes(md5: md5.lowercased()))
        #expect(page.changes[0].classification == .b2 && page.changes[0].member == 5)
        #expect(page.next?.hasSuffix("&start=2&size=1&max=9") == true)
    }

    @Test("XXE with a file or a network entity, billion laughs and an external DTD are refused unexpanded")
    func entities() {
        let cases = [
            """
            <?xml version="1.0"?><!DOCTYPE q [<!ENTITY x SYSTEM "file:///etc/passwd">]>
            <queryResult xmlns="\(Self.ns)"><images><image><id>&x;</id></image></images></queryResult>
            """,
            """
            <?xml version="1.0"?><!DOCTYPE q [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>
            <queryResult xmlns="\(Self.ns)">&x;</queryResult>
            """,
            """
            <?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
            <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
            <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>
            <queryResult xmlns="\(Self.ns)"><images><image><id>&f;</id></image></images></queryResult>
            """,
            """
            <?xml version="1.0"?><!DOCTYPE queryResult SYSTEM "http://127.0.0.1:9/evil.dtd">
            <queryResult xmlns="\(Self.ns)"/>
            """,
        ]
        for document in cases {
            // Refused at the declaration, or (billion laughs) by libxml2 while it reads the internal subset,
            // before any reference is expanded; nothing of /etc/passwd ever shows.
            let reason = Self.error(document) ?? "accepted"
            #expect(reason.contains("<!DOCTYPE>") || reason.contains("entity reference loop"), "\(reason)")
            #expect(!reason.contains("root:"))
        }
    }

    @Test("truncated, invalid, wrong-namespace, deep and oversized documents are refused with a reason")
    func malformed() {
        let entry = """
            <image><member id="1">m</member><timestamp>2026-01-01T00:00:00Z</timestamp><id>1</id>\
            <fingerprints><md5>\(Synthetic.hex(32))</md5></fingerprints></image>
            """
        let cases: [(String, String)] = [
            ("", "empty"),
            ("<queryResult xmlns=\"\(Self.ns)\"><images>\(entry)", "not well-formed"),
            ("<queryResult xmlns=\"\(Self.ns)\"><images></videos></queryResult>", "not well-formed"),
            ("not xml at all", "not well-formed"),
            ("<queryResult xmlns=\"urn:other\"><images>\(entry)</images></queryResult>", "namespace"),
            ("<queryResult><images>\(entry)</images></queryResult>", "no namespace"),
            ("<status xmlns=\"\(Self.ns)\"/>", "not <queryResult>"),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><images>\(String(repeating: "<a>", count: 40))"
                    + "\(String(repeating: "</a>", count: 40))</images></queryResult>", "holds <a>"
            ),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><x>\(String(repeating: "<a>", count: 40))"
                    + "\(String(repeating: "</a>", count: 40))</x></queryResult>", "deeper"
            ),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><images>\(entry.replacingOccurrences(of: "<id>1</id>", with: ""))"
                    + "</images></queryResult>", "no usable <id>"
            ),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><images>"
                    + entry.replacingOccurrences(of: "<member id=\"1\">", with: "<member id=\"x\">")
                    + "</images></queryResult>", "no <member"
            ),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><images>"
                    + entry.replacingOccurrences(of: "2026-01-01T00:00:00Z", with: "yesterday")
                    + "</images></queryResult>", "timestamp"
            ),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><images>"
                    + entry.replacingOccurrences(of: "<md5>", with: "<md5>zz")
                    + "</images></queryResult>", "md5"
            ),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><paging><next>https://127.0.0.1/v2/entries?start=1</next>"
                    + "</paging></queryResult>", "next link"
            ),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><paging><next>/v2/../admin?x</next></paging></queryResult>",
                "next link"
            ),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><images><image><id>\(String(repeating: "9", count: 70_000))</id>"
                    + "</image></images></queryResult>", "longer than"
            ),
            (
                "<queryResult xmlns=\"\(Self.ns)\"><images>"
                    + String(repeating: entry, count: NCMECDialect.maxEntriesPerPage + 1)
                    + "</images></queryResult>", "more than"
            ),
        ]
        for (document, expected) in cases {
            let reason = Self.error(document)
            #expect(reason?.contains(expected) == true, "\(expected): \(reason ?? "accepted")")
        }
    }

    @Test("the same page read many times gives the same changes (no state kept between readers)")
    func repeated() throws {
        let document = Self.bytes(
            """
            <queryResult xmlns="\(Self.ns)"><videos count="1" maxTimestamp="2026-01-01T00:00:00Z">
            <deletedVideo><member id="3">m</member><timestamp>2026-01-01T00:00:00Z</timestamp><id>v1</id></deletedVideo>
            </videos></queryResult>
            """)
        let first = try NCMECDialect.readEntriesPage(document)
        for _ in 0..<200 { #expect(try NCMECDialect.readEntriesPage(document) == first) }
        #expect(first.changes.map(\.deleted) == [true] && first.changes[0].mediaType == .video && first.next == nil)
    }

    @Test("feedback submissions as the client writes them read, and anything else is refused")
    func feedback() throws {
        #expect(
            try NCMECDialect.readFeedbackSubmission(
                Self.bytes("<feedbackSubmission xmlns=\"\(Self.ns)\"><affirmative /></feedbackSubmission>"))
                == .affirmative)
        #expect(
            try NCMECDialect.readFeedbackSubmission(
                Self.bytes(
                    "<feedbackSubmission xmlns=\"\(Self.ns)\"><negative><reasonIds><guid>g-1</guid></reasonIds>"
                        + "</negative></feedbackSubmission>")) == .negative(["g-1"]))
        let refused = [
            "<feedbackSubmission xmlns=\"\(Self.ns)\"/>",
            "<feedbackSubmission><affirmative/></feedbackSubmission>",
            "<feedbackSubmission xmlns=\"\(Self.ns)\"><maybe/></feedbackSubmission>",
            "<feedbackSubmission xmlns=\"\(Self.ns)\"><affirmative/><negative/></feedbackSubmission>",
            "<!DOCTYPE f [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><feedbackSubmission xmlns=\"\(Self.ns)\">&x;"
                + "</feedbackSubmission>",
            "<feedbackSubmission xmlns=\"\(Self.ns)\"><affirmative>",
        ]
        for document in refused {
            #expect(throws: XMLReadError.self, "\(document)") {
                try NCMECDialect.readFeedbackSubmission(Self.bytes(document))
            }
        }
    }
}
