import Foundation

/// The JSON convention of every API body and stored answer: snake_case keys, RFC 3339 UTC times.
public enum WireFormat {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z")
            }
            return date
        }
        return decoder
    }
}

/// The opaque position cursor of `GET /v1/notices` and `GET /v1/cases`: it never expires.
public enum Cursor {
    public static func encode(_ position: Int64) -> String {
        Base64URL.encode(Array("p\(position)".utf8))
    }

    public static func decode(_ text: String) -> Int64? {
        guard !text.isEmpty, text.count <= 32, let data = Base64URL.decode(text),
            let string = String(data: data, encoding: .utf8), string.hasPrefix("p"),
            let position = Int64(string.dropFirst()), position >= 0
        else { return nil }
        return position
    }

}
