import NIOCore
import NIOPosix
import Synchronization

/// A plain SMTP server on loopback that accepts every message and offers no STARTTLS, recording the
/// commands it got and the messages (synthetic ones only), so a test can tell what reached it.
final class SMTPResponder: Sendable {
    let commands = Mutex<[String]>([])
    let messages = Mutex<[String]>([])

    /// Runs `body` with the server listening on `host` at a free port.
    func run(host: String = "127.0.0.1", _ body: @Sendable (_ port: Int) async throws -> Void) async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Session(responder: self))
                }
            }
            .bind(host: host, port: 0).get()
        do {
            try await body(channel.localAddress?.port ?? 0)
        } catch {
            try? await channel.close()
            throw error
        }
        try await channel.close()
    }

    /// One connection: a line-by-line dialogue, and the message lines between `DATA` and `.`.
    final class Session: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let responder: SMTPResponder
        var pending = ""
        var message: [String]?

        init(responder: SMTPResponder) { self.responder = responder }

        func channelActive(context: ChannelHandlerContext) {
            reply("220 responder.test ESMTP", context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending += buffer.readString(length: buffer.readableBytes) ?? ""
            while let end = pending.range(of: "\r\n") {
                let line = String(pending[..<end.lowerBound])
                pending.removeSubrange(..<end.upperBound)
                handle(line, context)
            }
        }

        func handle(_ line: String, _ context: ChannelHandlerContext) {
            if var lines = message {
                if line == "." {
                    responder.messages.withLock { $0.append(lines.joined(separator: "\r\n")) }
                    message = nil
                    reply("250 2.0.0 queued", context)
                } else {
                    lines.append(line)
                    message = lines
                }
                return
            }
            responder.commands.withLock { $0.append(line) }
            switch line.prefix(4).uppercased() {
            case "EHLO": reply("250-responder.test\r\n250 8BITMIME", context)
            case "HELO", "MAIL", "RCPT", "RSET", "NOOP": reply("250 OK", context)
            case "DATA":
                message = []
                reply("354 end with .", context)
            case "QUIT":
                reply("221 bye", context)
                context.close(promise: nil)
            default: reply("502 not here", context)
            }
        }

        func reply(_ text: String, _ context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
        }
    }
}
