import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers what the HTTP/1 server would otherwise leave hanging: `CONNECT` (this is no proxy: 405 and
/// the connection closed) and `Expect: 100-continue` (a `100 Continue`, so a client waiting for it sends
/// its body).
final class ProtocolGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// After a refusal nothing more is read from the connection.
    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if case .head(let head) = unwrapInboundIn(data) {
            if head.method == .connect {
                refuse(context)
                return
            }
            if let expect = head.headerFields[.expect] {
                guard expect.lowercased() == "100-continue" else {
                    refuse(context, status: .expectationFailed, detail: "only Expect: 100-continue is understood")
                    return
                }
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    /// Answers and closes. A response to `CONNECT` carries no body (the HTTP/1 encoder writes none for
    /// it), so only the status and `Allow` say why; `417` gets a problem document.
    private func refuse(
        _ context: ChannelHandlerContext, status: HTTPResponse.Status = .methodNotAllowed,
        detail: String = "CONNECT is not served: this is not a proxy"
    ) {
        refused = true
        var head = HTTPResponse(status: status)
        head.headerFields[.connection] = "close"
        var body: ByteBuffer?
        if status == .methodNotAllowed {
            head.headerFields[.allow] = "GET, HEAD, POST, PATCH, PUT, DELETE"
        } else {
            let document = ByteBuffer(
                string:
                    #"{"type":"https://takedown-gateway.example/problems/\#(Problem.slug(status))","title":"\#(status.reasonPhrase)","status":\#(status.code),"detail":"\#(detail)"}"#
            )
            head.headerFields[.contentType] = "application/problem+json"
            head.headerFields[.contentLength] = String(document.readableBytes)
            body = document
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
