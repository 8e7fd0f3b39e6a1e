//! The node's HTTP server, built from actix-http's parts so that a WebSocket upgrade hands the raw TCP
//! stream to us: one port serves both the API and `/ws`. An upgrade request still goes through the App
//! (routing, middleware, metrics, the handler's checks and JSON errors); when the handler answers 101 with
//! an `Accept` in the response, the response is written here and the socket is served by `connection` in
//! a task of its own, free of actix-http's per-connection buffers. Any other answer is written and the
//! connection closed.
//!
//! The upgraded socket gets its own small task rather than living on in the HTTP connection's: that task
//! is sized for actix-http's whole dispatcher and the App's request future (4.2 KiB, measured with massif),
//! which a WebSocket would otherwise hold for its whole life. So this module counts the open sockets
//! itself: a node holds at most `sockets_max`, and a graceful stop waits for them to close.

use super::{connection, queue, Incoming, SocketLimits, Transport};
use actix::Recipient;
use actix_codec::{Encoder, Framed};
use actix_http::body::{BodySize, MessageBody};
use actix_http::{h1, ConnectionType, HttpService, Request, Response, StatusCode};
use actix_service::{fn_factory, fn_service, map_config, IntoServiceFactory, Service, ServiceFactory};
use actix_web::dev::{AppConfig, Server};
use bytes::BytesMut;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    fn start(
        self,
        stream: TcpStream,
        read_buffer: BytesMut,
        open: SocketCount,
    ) -> impl std::future::Future<Output = ()> {
        let (queue, frames) = queue::bounded(self.limits.write_queue_frames_max, Some(stream));
        let socket = frames.socket().expect("the queue was given the socket");
        let session = (self.start)(Transport { queue });
        connection::serve(socket, read_buffer, self.limits, frames, session, open)
    }
}

/// How the HTTP server runs.
pub struct ServerOptions {
    /// Worker threads; 0 means one per CPU.
    pub workers: usize,
    pub shutdown_timeout_s: u64,
    pub client_request_timeout: Duration,
    /// The node's open WebSockets, counted by the connections themselves.
    pub sockets: OpenSockets,
    /// WebSockets held at once; an upgrade past it is answered 503 `server_busy`.
    pub sockets_max: usize,
}

/// How often a graceful stop checks whether every socket has closed.
const SOCKETS_CLOSED_POLL: Duration = Duration::from_millis(50);

/// The WebSockets open on a node. Each upgraded connection holds one count until its socket is closed.
#[derive(Clone, Default)]
pub struct OpenSockets(Arc<AtomicUsize>);

/// One open socket's count, given back when the connection ends.
pub struct SocketCount(Arc<AtomicUsize>);

impl OpenSockets {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    /// Counts one more socket unless `max` are already open.
    #[cfg(test)]
    pub fn open_one_for_tests(&self) -> SocketCount {
        self.try_open(usize::MAX).expect("no limit")
    }

    fn try_open(&self, max: usize) -> Option<SocketCount> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()
            .map(|_| SocketCount(self.0.clone()))
    }

    /// Waits until every socket has closed, or `limit`; returns how many are still open.
    pub async fn wait_until_closed(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        while self.count() > 0 && Instant::now() < deadline {
            tokio::time::sleep(SOCKETS_CLOSED_POLL).await;
        }
        self.count()
    }
}

impl Drop for SocketCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
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
    let (sockets, sockets_max) = (options.sockets, options.sockets_max);
    let builder = builder.listen("game-cluster", listener, move || {
        let upgrade_app = app.clone();
        let sockets = sockets.clone();
        HttpService::build()
            .client_request_timeout(timeout)
            .local_addr(local_addr)
            .upgrade(fn_factory(move || {
                let factory = upgrade_app().into_factory();
                let sockets = sockets.clone();
                async move {
                    let service = factory.new_service(AppConfig::default()).await.map_err(|error| {
                        tracing::error!(?error, "failed to build the upgrade service");
                    })?;
                    let service = Rc::new(service);
                    Ok::<_, ()>(fn_service(move |(request, framed)| {
                        hand_over(service.clone(), request, framed, sockets.clone(), sockets_max)
                    }))
                }
            }))
            .finish(map_config(app(), |_| AppConfig::default()))
            .tcp()
    })?;
    Ok(builder.run())
}

/// Runs an upgrade request through the App and writes its answer; a 101 with an `Accept` starts the
/// session on the raw stream, in a task of its own, unless the node already holds `sockets_max` sockets.
async fn hand_over<S, B>(
    app: Rc<S>,
    request: Request,
    framed: Framed<TcpStream, h1::Codec>,
    sockets: OpenSockets,
    sockets_max: usize,
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
    // An answer to an earlier pipelined request may still wait in actix's buffer: it goes out first.
    let mut out = std::mem::take(&mut parts.write_buf);
    if let (Some(accept), StatusCode::SWITCHING_PROTOCOLS) = (accept, response.status()) {
        match sockets.try_open(sockets_max) {
            Some(count) => {
                let (head, _) = response.into_parts();
                parts
                    .codec
                    .encode(h1::Message::Item((head, BodySize::None)), &mut out)?;
                if let Err(error) = parts.io.write_all(&out).await {
                    tracing::debug!(%error, "the client left during the WebSocket handshake");
                    return Ok(());
                }
                // Game frames are small and must leave at once: Nagle's algorithm would hold a frame
                // behind an unacknowledged one for as long as the client delays its ACK (40 ms or more).
                if let Err(error) = parts.io.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY on a WebSocket");
                }
                actix_web::rt::spawn(accept.start(parts.io, parts.read_buf, count));
                return Ok(());
            }
            None => {
                tracing::warn!(sockets_max, "refused a WebSocket: the node holds its maximum");
                response = busy_response(sockets_max);
            }
        }
    }
    let (mut head, body) = response.into_parts();
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

/// 503 `server_busy` in the API's error envelope, with a hint to retry (through nginx, another node).
fn busy_response(sockets_max: usize) -> Response<actix_http::body::BoxBody> {
    let body = serde_json::json!({"error": {
        "code": "server_busy",
        "message": format!("this node holds its maximum of {sockets_max} WebSockets; try again shortly"),
    }});
    Response::build(StatusCode::SERVICE_UNAVAILABLE)
        .insert_header((actix_http::header::CONTENT_TYPE, "application/json"))
        .insert_header((actix_http::header::RETRY_AFTER, "1"))
        .body(body.to_string())
        .map_into_boxed_body()
}
