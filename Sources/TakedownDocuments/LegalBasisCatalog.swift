import Foundation

/// One provision under which the material is illegal, cited without describing it.
public struct LegalBasis: Codable, Sendable, Equatable {
    public var jurisdiction: String
    public var instrument: String
    public var provision: String
}

/// The legal bases cited per recipient jurisdiction, from `Templates/legal-bases.json` (built in, or from
/// the templates folder an operator's lawyers correct without a rebuild).
public struct LegalBasisCatalog: Sendable {
    struct File: Codable {
        var euMembers: [String]
        var eu: [LegalBasis]
        var international: [LegalBasis]
        var jurisdictions: [String: [LegalBasis]]
    }

    let file: File

    public init(contentsOf url: URL) throws {
        try self.init(json: Data(contentsOf: url))
    }

    public init(json: Data) throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        file = try decoder.decode(File.self, from: json)
    }

    /// The national provisions, then EU law for member states, then the international instruments.
    public func bases(for jurisdiction: String) -> [LegalBasis] {
        let code = jurisdiction.uppercased()
        var result = file.jurisdictions[code] ?? []
        if file.euMembers.contains(code) { result += file.eu }
        return result + file.international
    }
}
