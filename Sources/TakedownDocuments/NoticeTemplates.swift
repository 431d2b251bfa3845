import Foundation
import Mustache
import TakedownModel

/// The notice texts of `Templates/`, one set per language, loaded and checked at start-up: the set built
/// into the binary, or a folder that overrides it.
///
/// Each language has `notice.LANG`, `reminder.LANG`, `explanation.LANG` and `good-faith.LANG`; English
/// must exist and is the fallback for every other locale.
public struct NoticeTemplates: Sendable {
    public static let kinds = ["notice", "reminder", "explanation", "good-faith"]

    let library: MustacheLibrary
    public let languages: [String]
    public let legalBases: LegalBasisCatalog

    /// Loads a folder's `*.mustache` files and `legal-bases.json`; throws `TemplateError` naming what is
    /// missing or does not parse.
    public init(directory: URL) async throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw TemplateError.unreadable("\(directory.path): \(error)")
        }
        var files: [String: String] = [:]
        for name in names where name.hasSuffix(".mustache") || name == "legal-bases.json" {
            do {
                files[name] = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            } catch {
                throw TemplateError.unreadable("\(name): \(error)")
            }
        }
        try self.init(files: files)
    }

    /// The templates from files' texts by name (`notice.en.mustache`, …, `legal-bases.json`).
    public init(files: [String: String]) throws {
        var library = MustacheLibrary()
        for (name, text) in files where name.hasSuffix(".mustache") {
            do {
                try library.register(text, named: String(name.dropLast(".mustache".count)))
            } catch {
                throw TemplateError.unreadable("\(name): \(error)")
            }
        }
        var languages = Set<String>()
        for kind in Self.kinds {
            for language in ["en", "de", "fr", "nl", "es", "it"]
            where library.getTemplate(named: "\(kind).\(language)") != nil {
                languages.insert(language)
            }
        }
        for language in languages {
            for kind in Self.kinds where library.getTemplate(named: "\(kind).\(language)") == nil {
                throw TemplateError.missing("\(kind).\(language).mustache")
            }
        }
        guard languages.contains("en") else { throw TemplateError.missing("notice.en.mustache") }
        self.library = library
        self.languages = languages.sorted()
        guard let legalBases = files["legal-bases.json"] else { throw TemplateError.missing("legal-bases.json") }
        do {
            self.legalBases = try LegalBasisCatalog(json: Data(legalBases.utf8))
        } catch {
            throw TemplateError.unreadable("legal-bases.json: \(error)")
        }
    }

    /// The language a locale is served in: its primary subtag when a template set exists, else English.
    public func language(for locale: String) -> String {
        let primary = locale.split(separator: "-").first.map { $0.lowercased() } ?? "en"
        return languages.contains(primary) ? primary : "en"
    }

    func render(_ kind: String, language: String, context: [String: Any]) -> String {
        let text =
            library.render(context, withTemplate: "\(kind).\(language)")
            ?? library.render(context, withTemplate: "\(kind).en") ?? ""
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The human-readable notice in `language`, rendered from the signed document.
    public func text(of document: NoticeDocument, status: NoticeStatus? = nil, language: String) -> String {
        var context = Self.context(of: document)
        if let status { context["status"] = status.rawValue }
        return render("notice", language: self.language(for: language), context: context) + "\n"
    }

    /// The text of reminder `sequence - 1`: a reminder header, then the whole notice text.
    public func reminderText(
        of document: NoticeDocument, status: NoticeStatus? = nil, sequence: Int, language: String
    ) -> String {
        let chosen = self.language(for: language)
        var context = Self.context(of: document)
        if let status { context["status"] = status.rawValue }
        context["sequence"] = sequence
        context["reminder_number"] = max(sequence - 1, 1)
        context["notice_text"] = text(of: document, status: status, language: chosen)
        return render("reminder", language: chosen, context: context) + "\n"
    }

    static func context(of document: NoticeDocument) -> [String: Any] {
        [
            "id": document.id,
            "case_reference": document.caseReference,
            "issued_at": document.issuedAt,
            "deadline_at": document.deadlineAt,
            "issuer": [
                "organisation": document.issuer.organisation, "contact_email": document.issuer.contactEmail,
                "country": document.issuer.country,
                "trusted_flagger": document.issuer.trustedFlagger.designated,
                "designated_by": document.issuer.trustedFlagger.designatedBy as Any,
            ] as [String: Any],
            "recipient": [
                "name": document.recipient.name, "partner_id": document.recipient.partnerId,
                "jurisdiction": document.recipient.jurisdiction,
            ],
            "legal_basis": document.legalBasis.map {
                ["jurisdiction": $0.jurisdiction, "instrument": $0.instrument, "provision": $0.provision]
            },
            "category": [
                "uk_grade": document.category.ukGrade, "classification": document.category.classification as Any,
                "xarf_classification": document.category.xarfClassification,
            ],
            "media_type": document.mediaType,
            "explanation": document.explanation,
            "good_faith_statement": document.goodFaithStatement,
            "item_count": document.items.count,
            "items": document.items.enumerated().map { index, item -> [String: Any] in
                var entry: [String: Any] = [
                    "number": index + 1, "url": item.url, "observed_at": item.observedAt,
                    "hashes": hashLines(item.hashes),
                ]
                // Absent keys, not empty strings: an empty string still opens a Mustache section.
                if let ip = item.ip { entry["ip"] = ip }
                return entry
            },
            "preservation_days": document.requestedAction.preservationDays,
            "response": [
                "notice": document.response.notice, "acknowledge": document.response.acknowledge,
                "removal": document.response.removal, "unable": document.response.unable,
                "dispute": document.response.dispute,
            ],
            "appeal": ["route": document.appeal.route, "contact_email": document.appeal.contactEmail],
        ]
    }

    static func hashLines(_ hashes: Hashes) -> [[String: String]] {
        var lines: [[String: String]] = []
        if let v = hashes.md5 { lines.append(["type": "MD5", "value": v]) }
        if let v = hashes.sha1 { lines.append(["type": "SHA-1", "value": v]) }
        if let v = hashes.sha256 { lines.append(["type": "SHA-256", "value": v]) }
        if let v = hashes.pdq {
            lines.append(["type": "PDQ", "value": hashes.pdqQuality.map { "\(v) (quality \($0))" } ?? v])
        }
        if let v = hashes.photodna { lines.append(["type": "PhotoDNA", "value": v]) }
        return lines
    }
}

public enum TemplateError: Error, CustomStringConvertible {
    case missing(String)
    case unreadable(String)

    public var description: String {
        switch self {
        case .missing(let name): return "template \(name) is missing"
        case .unreadable(let detail): return "templates cannot be loaded: \(detail)"
        }
    }
}
