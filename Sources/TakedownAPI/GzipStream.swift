import CompressNIO
import NIOCore

/// Gzip for a streamed response, piece by piece, through zlib (compress-nio).
///
/// zlib's output depends only on the input and the settings, so an export compresses to the same bytes
/// on every request and its `-gzip` ETag stays strong.
final class GzipStream {
    private let compressor: any NIOCompressor

    init() throws {
        compressor = CompressionAlgorithm.gzip().compressor
        compressor.window = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        try compressor.startStream()
    }

    /// Compressed pieces ready to send for these bytes (often none: zlib buffers).
    func compress(_ bytes: [UInt8]) throws -> [ByteBuffer] {
        var input = ByteBuffer(bytes: bytes)
        var output: [ByteBuffer] = []
        try input.compressStream(with: compressor, flush: .no) { output.append($0) }
        return output
    }

    /// The rest of the stream, and the gzip trailer.
    func finish() throws -> [ByteBuffer] {
        var input = ByteBuffer()
        var output: [ByteBuffer] = []
        try input.compressStream(with: compressor, flush: .finish) { output.append($0) }
        try compressor.finishStream()
        return output
    }
}
