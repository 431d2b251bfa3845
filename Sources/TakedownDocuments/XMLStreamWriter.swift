import CLibXML2

/// libxml2's streaming writer (`xmlTextWriter`) into a memory buffer that the caller drains as it goes:
/// a document of any length is written element by element and never held as a tree. Text and attribute
/// values are escaped by libxml2; characters XML 1.0 cannot carry (controls, lone surrogates' stand-ins,
/// U+FFFE/U+FFFF) are dropped first, so the output is always well-formed.
public final class XMLStreamWriter {
    private let buffer: xmlBufferPtr
    private let writer: xmlTextWriterPtr

    public init() throws {
        LibXML2.initialise()
        guard let buffer = xmlBufferCreate() else { throw XMLWriteError("libxml2 could not allocate a buffer") }
        guard let writer = xmlNewTextWriterMemory(buffer, 0) else {
            xmlBufferFree(buffer)
            throw XMLWriteError("libxml2 could not create a writer")
        }
        self.buffer = buffer
        self.writer = writer
    }

    deinit {
        xmlFreeTextWriter(writer)
        xmlBufferFree(buffer)
    }

    /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`
    public func startDocument() throws {
        try check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", "yes"), "start the document")
    }

    /// Opens `<name>`, declaring `namespace` as its default namespace when given.
    public func start(_ name: String, namespace: String? = nil) throws {
        try check(xmlTextWriterStartElement(writer, name), "open <\(name)>")
        if let namespace { try attribute("xmlns", namespace) }
    }

    public func attribute(_ name: String, _ value: String) throws {
        try check(xmlTextWriterWriteAttribute(writer, name, Self.clean(value)), "write the attribute \(name)")
    }

    public func text(_ value: String) throws {
        try check(xmlTextWriterWriteString(writer, Self.clean(value)), "write text")
    }

    /// `<name>text</name>`
    public func element(_ name: String, _ value: String, attributes: KeyValuePairs<String, String> = [:]) throws {
        guard !attributes.isEmpty else {
            try check(xmlTextWriterWriteElement(writer, name, Self.clean(value)), "write <\(name)>")
            return
        }
        try start(name)
        for (key, attributeValue) in attributes { try attribute(key, attributeValue) }
        try text(value)
        try end()
    }

    /// Closes the innermost open element.
    public func end() throws {
        try check(xmlTextWriterEndElement(writer), "close an element")
    }

    /// Closes every open element and ends the document.
    public func endDocument() throws {
        try check(xmlTextWriterEndDocument(writer), "end the document")
    }

    /// The bytes written since the last call.
    public func take() throws -> [UInt8] {
        try check(xmlTextWriterFlush(writer), "flush")
        let count = Int(xmlBufferLength(buffer))
        guard count > 0, let content = xmlBufferContent(buffer) else { return [] }
        let bytes = Array(UnsafeBufferPointer(start: content, count: count))
        xmlBufferEmpty(buffer)
        return bytes
    }

    private func check(_ result: Int32, _ what: String) throws {
        if result < 0 { throw XMLWriteError("libxml2 could not \(what)") }
    }

    /// `value` without the characters XML 1.0 does not allow (it allows tab, LF, CR and from U+0020 on,
    /// except the surrogate block and U+FFFE/U+FFFF).
    static func clean(_ value: String) -> String {
        // Printable ASCII (hashes, ids, times): nothing to drop, found without decoding scalars.
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return value }
        guard value.unicodeScalars.contains(where: { !isAllowed($0) }) else { return value }
        return String(String.UnicodeScalarView(value.unicodeScalars.filter(isAllowed)))
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }
}

public struct XMLWriteError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
