import CLibXML2

/// libxml2's streaming reader (`xmlTextReader`) over a document held in memory, for XML that comes from
/// outside. It is hostile-input code:
/// - no network access, no external DTD loaded, no entity substituted, and any `<!DOCTYPE>` refused
///   outright, so XXE (file or network entities), billion laughs and external DTDs never get as far as
///   an expansion;
/// - elements nested deeper than `maxDepth` and text longer than `maxText` are refused;
/// - libxml2's own messages are collected into the error, never printed.
///
/// The caller caps the document's size before it gets here (the whole of it is one page of a feed).
public final class XMLPullReader {
    /// What the reader stands on.
    public enum Node: Equatable {
        case start(name: String, namespace: String?, attributes: [String: String])
        case end(name: String)
        case text(String)
    }

    private let reader: xmlTextReaderPtr
    private let storage: UnsafeMutableBufferPointer<CChar>
    private let messages = LibXML2.Messages()
    private var pendingEnd: String?
    let maxDepth: Int
    let maxText: Int

    public init(_ document: [UInt8], maxDepth: Int = 32, maxText: Int = 64 * 1024) throws {
        LibXML2.initialise()
        guard !document.isEmpty else { throw XMLReadError("the document is empty") }
        // libxml2 reads the buffer as it goes: it lives as long as the reader.
        let storage = UnsafeMutableBufferPointer<CChar>.allocate(capacity: document.count)
        _ = document.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { storage.initialize(from: $0) }
        }
        self.storage = storage
        let options = Int32(
            XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue
                | XML_PARSE_NOCDATA.rawValue)
        guard let reader = xmlReaderForMemory(storage.baseAddress, Int32(clamping: storage.count), nil, nil, options)
        else {
            storage.deallocate()
            throw XMLReadError("libxml2 could not create a reader")
        }
        self.reader = reader
        self.maxDepth = maxDepth
        self.maxText = maxText
        xmlTextReaderSetStructuredErrorHandler(reader, LibXML2.collect, Unmanaged.passUnretained(messages).toOpaque())
    }

    deinit {
        xmlFreeTextReader(reader)
        storage.deallocate()
    }

    /// The next element start, element end or text; nil at the end of the document. An empty element
    /// (`<a/>`) gives its start and then its end. Comments, processing instructions and whitespace
    /// between elements are skipped.
    public func next() throws -> Node? {
        if let name = pendingEnd {
            pendingEnd = nil
            return .end(name: name)
        }
        while true {
            let result = xmlTextReaderRead(reader)
            if result == 0 { return nil }
            guard result == 1 else {
                throw XMLReadError("not well-formed: " + (messages.lines.first ?? "libxml2 stopped reading"))
            }
            let type = xmlTextReaderNodeType(reader)
            switch type {
            case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue):
                throw XMLReadError("a document type declaration (<!DOCTYPE>) is not accepted")
            case Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue), Int32(XML_READER_TYPE_ENTITY.rawValue):
                throw XMLReadError("entity references are not accepted")
            case Int32(XML_READER_TYPE_ELEMENT.rawValue):
                let depth = Int(xmlTextReaderDepth(reader))
                guard depth < maxDepth else { throw XMLReadError("elements nest deeper than \(maxDepth)") }
                let name = string(xmlTextReaderConstLocalName(reader)) ?? ""
                let namespace = string(xmlTextReaderConstNamespaceUri(reader))
                let attributes = try readAttributes()
                if xmlTextReaderIsEmptyElement(reader) == 1 { pendingEnd = name }
                return .start(name: name, namespace: namespace, attributes: attributes)
            case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
                return .end(name: string(xmlTextReaderConstLocalName(reader)) ?? "")
            case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue):
                let text = string(xmlTextReaderConstValue(reader)) ?? ""
                guard text.utf8.count <= maxText else { throw XMLReadError("a text is longer than \(maxText) bytes") }
                return .text(text)
            default:
                continue
            }
        }
    }

    /// The text of the element just started, up to its end: nested elements are refused. Returns ""
    /// for an empty element.
    public func text(of name: String) throws -> String {
        var text = ""
        while let node = try next() {
            switch node {
            case .text(let part):
                text += part
                guard text.utf8.count <= maxText else { throw XMLReadError("a text is longer than \(maxText) bytes") }
            case .end: return text
            case .start(let inner, _, _): throw XMLReadError("<\(name)> holds an element <\(inner)> where text belongs")
            }
        }
        throw XMLReadError("the document ends inside <\(name)>")
    }

    /// Skips the rest of the element just started, whatever it holds.
    public func skip(_ name: String) throws {
        var depth = 1
        while let node = try next() {
            switch node {
            case .start: depth += 1
            case .end:
                depth -= 1
                if depth == 0 { return }
            case .text: continue
            }
        }
        throw XMLReadError("the document ends inside <\(name)>")
    }

    private func readAttributes() throws -> [String: String] {
        var attributes: [String: String] = [:]
        guard xmlTextReaderHasAttributes(reader) == 1 else { return attributes }
        while xmlTextReaderMoveToNextAttribute(reader) == 1 {
            // Namespace declarations are attributes to libxml2; the element's namespace already says it.
            if xmlTextReaderIsNamespaceDecl(reader) == 1 { continue }
            let name = string(xmlTextReaderConstLocalName(reader)) ?? ""
            let value = string(xmlTextReaderConstValue(reader)) ?? ""
            guard value.utf8.count <= maxText else {
                throw XMLReadError("an attribute is longer than \(maxText) bytes")
            }
            attributes[name] = value
        }
        xmlTextReaderMoveToElement(reader)
        return attributes
    }

    private func string(_ pointer: UnsafePointer<xmlChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}

/// A document from outside that the gateway will not take, and why.
public struct XMLReadError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
