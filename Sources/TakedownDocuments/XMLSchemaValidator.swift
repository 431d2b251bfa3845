import CLibXML2
import Foundation

/// An XSD compiled once by libxml2, checking documents against it. Documents are parsed without network
/// access, entity expansion or DTD loading, and the parser's messages are collected, never printed.
public final class XMLSchemaValidator: @unchecked Sendable {
    // Immutable after init; libxml2 allows one parsed schema to back validation contexts on several threads.
    private let schema: xmlSchemaPtr

    public init(contentsOf url: URL) throws {
        LibXML2.initialise()
        guard let context = xmlSchemaNewParserCtxt(url.path) else {
            throw XMLWriteError("libxml2 could not read the schema \(url.lastPathComponent)")
        }
        defer { xmlSchemaFreeParserCtxt(context) }
        let messages = LibXML2.Messages()
        xmlSchemaSetParserStructuredErrors(context, LibXML2.collect, Unmanaged.passUnretained(messages).toOpaque())
        guard let schema = xmlSchemaParse(context) else {
            throw XMLWriteError("the schema \(url.lastPathComponent) does not compile: \(messages.joined)")
        }
        self.schema = schema
    }

    deinit { xmlSchemaFree(schema) }

    /// What libxml2 finds wrong with `document` against the schema: empty when it is valid.
    public func problems(in document: [UInt8]) -> [String] {
        guard let parser = xmlNewParserCtxt() else { return ["libxml2 could not create a parser"] }
        defer { xmlFreeParserCtxt(parser) }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let parsed = document.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                xmlCtxtReadMemory(parser, $0.baseAddress, Int32(clamping: $0.count), "document.xml", nil, options)
            }
        }
        guard let parsed else {
            let reason = xmlCtxtGetLastError(parser)?.pointee.message.map { String(cString: $0) } ?? "unknown"
            return ["not well-formed: " + reason.trimmingCharacters(in: .whitespacesAndNewlines)]
        }
        let messages = LibXML2.Messages()
        defer { xmlFreeDoc(parsed) }
        guard let context = xmlSchemaNewValidCtxt(schema) else { return ["libxml2 could not create a validator"] }
        defer { xmlSchemaFreeValidCtxt(context) }
        xmlSchemaSetValidStructuredErrors(context, LibXML2.collect, Unmanaged.passUnretained(messages).toOpaque())
        let result = xmlSchemaValidateDoc(context, parsed)
        if result == 0 { return [] }
        return messages.lines.isEmpty ? ["invalid (libxml2 code \(result))"] : messages.lines
    }
}

/// Process-wide libxml2 set-up and its error collection.
enum LibXML2 {
    private static let initialised: Void = { xmlInitParser() }()

    static func initialise() { _ = initialised }

    /// Messages libxml2 reported through a structured error handler.
    final class Messages {
        var lines: [String] = []
        var joined: String { lines.joined(separator: "; ") }
    }

    /// The structured error handler: appends the message (and its line) to the `Messages` passed as context.
    static let collect: xmlStructuredErrorFunc = { context, error in
        guard let context, let error else { return }
        let messages = Unmanaged<Messages>.fromOpaque(context).takeUnretainedValue()
        let text = error.pointee.message.map { String(cString: $0) }?.trimmingCharacters(in: .whitespacesAndNewlines)
        messages.lines.append("line \(error.pointee.line): \(text ?? "error")")
    }
}
