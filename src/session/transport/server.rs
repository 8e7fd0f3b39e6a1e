//! The node's HTTP server, built from actix-http's parts so that a WebSocket upgrade hands the raw TCP
//! stream to us: one port serves both the API and `/ws`. An upgrade request still goes through the App
//! (routing, middleware, metrics, the handler's checks and JSON errors); when the handler answers 101 with
//! an `Accept` in the response, the response is written here and the socket is served by `connection`,
//! free of actix-http's per-connection buffers. Any other answer is written and the connection closed.

use super::{connection, queue, Incoming, SocketLimits, Transport};
use actix::Recipient;
use actix_codec::{Encoder, Framed};
use actix_http::body::{BodySize, MessageBody};
use actix_http::{h1, ConnectionType, HttpService, Request, Response, StatusCode};
use actix_service::{fn_factory, fn_service, map_config, IntoServiceFactory, Service, ServiceFactory};
use actix_web::dev::{AppConfig, Server};
use bytes::BytesMut;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What a `/ws` handler puts in its 101 response: how to start the session once the socket is ours.
pub struct Accept {
    limits: SocketLimits,
    start: Box<dyn FnOnce(Transport) -> Recipient<Incoming>>,
}

impl Accept {
    /// `start` gets the socket's transport and returns where its incoming frames go (the session actor).
    pub fn new(limits: SocketLimits, start: impl FnOnce(Transport) -> Recipient<Incoming> + 'static) -> Accept {
        Accept {
            limits,
            start: Box::new(start),
        }
    }

    /// The handshake's 101 response carrying this `Accept`, or why the request is not a WebSocket
    /// handshake.
    pub fn respond(
        self,
        request: &actix_web::HttpRequest,
    ) -> Result<actix_web::HttpResponse, actix_http::ws::HandshakeError> {
        let response = actix_http::ws::handshake(request.head())?
            .finish()
            .map_into_boxed_body();
        let mut response = actix_web::HttpResponse::from(response);
        response.extensions_mut().insert(self);
        Ok(response)
    }

    /// Starts the session and returns the connection's future, which ends when the socket does.
    fn start(self, stream: TcpStream, read_buffer: BytesMut) -> impl std::future::Future<Output = ()> {
        let stream = Arc::new(stream);
        let (queue, frames) = queue::bounded(self.limits.write_queue_frames_max, Some(stream.clone()));
        let session = (self.start)(Transport { queue });
        connection::serve(stream, read_buffer, self.limits, frames, session)
    }
}

/// How the HTTP server runs.
pub struct ServerOptions {
    /// Worker threads; 0 means one per CPU.
    pub workers: usize,
    pub shutdown_timeout_s: u64,
    pub client_request_timeout: Duration,
}

/// Serves the App that `app` builds (once per worker, plus once for upgrade requests) on `listener`.
pub fn serve<F, I, S, B>(listener: std::net::TcpListener, options: ServerOptions, app: F) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<
            Request,
            Config = AppConfig,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    S::InitError: std::fmt::Debug,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let local_addr = listener.local_addr()?;
    let mut builder = Server::build()
        .disable_signals()
        .shutdown_timeout(options.shutdown_timeout_s);
    if options.workers > 0 {
        builder = builder.workers(options.workers);
    }
    let timeout = options.client_request_timeout;
    let builder = builder.listen("game-cluster", listener, move || {
        let upgrade_app = app.clone();
        HttpService::build()
            .client_request_timeout(timeout)
            .local_addr(local_addr)
            .upgrade(fn_factory(move || {
                let factory = upgrade_app().into_factory();
                async move {
                    let service = factory.new_service(AppConfig::default()).await.map_err(|error| {
                        tracing::error!(?error, "failed to build the upgrade service");
                    })?;
                    let service = Rc::new(service);
                    Ok::<_, ()>(fn_service(move |(request, framed)| {
                        hand_over(service.clone(), request, framed)
                    }))
                }
            }))
            .finish(map_config(app(), |_| AppConfig::default()))
            .tcp()
    })?;
    Ok(builder.run())
}

/// Runs an upgrade request through the App and writes its answer; a 101 with an `Accept` starts the
/// session on the raw stream.
async fn hand_over<S, B>(
    app: Rc<S>,
    request: Request,
    framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Response = actix_web::dev::ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let mut response: Response<_> = match app.call(request).await {
        Ok(response) => Response::from(response).map_into_boxed_body(),
        Err(error) => Response::from(error),
    };
    let accept = response.extensions_mut().remove::<Accept>();
    let mut parts = framed.into_parts();
    let (mut head, body) = response.into_parts();
    // An answer to an earlier pipelined request may still wait in actix's buffer: it goes out first.
    let mut out = std::mem::take(&mut parts.write_buf);
    if let (Some(accept), StatusCode::SWITCHING_PROTOCOLS) = (accept, head.status()) {
        parts
            .codec
            .encode(h1::Message::Item((head, BodySize::None)), &mut out)?;
        if let Err(error) = parts.io.write_all(&out).await {
            tracing::debug!(%error, "the client left during the WebSocket handshake");
            return Ok(());
        }
        drop(out);
        // Game frames are small and must leave at once: Nagle's algorithm would hold a frame behind an
        // unacknowledged one for as long as the client delays its ACK (40 ms or more on Linux).
        if let Err(error) = parts.io.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a WebSocket");
        }
        // Awaited, not spawned: actix-server counts the connection until the socket ends, so a graceful
        // stop waits for the sessions' close frames (up to `shutdown_timeout_s`) instead of dropping the
        // worker under them, and the worker's connection limit covers WebSockets too.
        accept.start(parts.io, parts.read_buf).await;
        return Ok(());
    }
    let body = actix_http::body::to_bytes(body).await.unwrap_or_default();
    head.head_mut().set_connection_type(ConnectionType::Close);
    parts
        .codec
        .encode(h1::Message::Item((head, BodySize::Sized(body.len() as u64))), &mut out)?;
    parts.codec.encode(h1::Message::Chunk(Some(body)), &mut out)?;
    parts.codec.encode(h1::Message::Chunk(None), &mut out)?;
    let _ = parts.io.write_all(&out).await;
    let _ = parts.io.shutdown().await;
    Ok(())
}
