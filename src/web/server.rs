//! The station's HTTP server: the [`router`](super::router) behind a connection gate, so that no
//! client — careless or hostile, on the county LAN — can use up the daemon's file descriptors or
//! its attention.
//!
//! - **Connection caps.** At most [`Limits::max_per_client`] connections from one address and
//!   [`Limits::max_connections`] in all; a connection over either cap is closed at once (and
//!   counted), so a flood from one neighbour leaves room for everyone else and for playout.
//! - **Timeouts.** Request headers must arrive within [`Limits::header_timeout`], which also
//!   closes a kept-alive connection that sends nothing more; a request body that stops sending
//!   for [`Limits::body_timeout`] is cut off (an upload on a slow link keeps going as long as
//!   its bytes keep coming).
//! - **Accept errors** (the process is out of file descriptors) back off instead of spinning.
//! - **Stop.** [`serve`] stops accepting, asks every connection to finish, and returns after at
//!   most [`Limits::drain`]: event streams and listen-ins never end by themselves.
//!
//! Each request carries its peer address as [`axum::extract::ConnectInfo`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How much the server lets each client have.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one address.
    pub max_per_client: usize,
    /// Time for a client to send a request's headers, and the longest a kept-alive connection
    /// may sit idle.
    pub header_timeout: Duration,
    /// Longest pause inside a request body.
    pub body_timeout: Duration,
    /// How long a stop waits for open requests.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_per_client: 32,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            drain: Duration::from_secs(3),
        }
    }
}

/// Counters of the gate, for `/metrics`. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ConnStats {
    inner: Arc<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    open: AtomicUsize,
    accepted: AtomicU64,
    refused: AtomicU64,
    accept_errors: AtomicU64,
    per_client: Mutex<HashMap<IpAddr, usize>>,
}

impl ConnStats {
    /// Connections open now.
    pub fn open(&self) -> usize {
        self.inner.open.load(Ordering::Relaxed)
    }

    /// Connections accepted since the start.
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }

    /// Connections closed at once because a cap was reached.
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// Failed accepts (out of file descriptors…).
    pub fn accept_errors(&self) -> u64 {
        self.inner.accept_errors.load(Ordering::Relaxed)
    }

    /// Takes a place for a connection from `ip`, unless a cap is reached.
    fn admit(&self, ip: IpAddr, limits: &Limits) -> Option<Place> {
        let mut per = self.inner.per_client.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = per.get(&ip).copied().unwrap_or(0);
        if mine >= limits.max_per_client || self.open() >= limits.max_connections {
            self.inner.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        per.insert(ip, mine + 1);
        self.inner.open.fetch_add(1, Ordering::Relaxed);
        self.inner.accepted.fetch_add(1, Ordering::Relaxed);
        Some(Place { stats: self.clone(), ip })
    }
}

/// A connection's place; given back when dropped.
struct Place {
    stats: ConnStats,
    ip: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut per = self.stats.inner.per_client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = per.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.ip);
            }
        }
        self.stats.inner.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `app` on `listener` within `limits` until `stop` completes, then drains open
/// connections for at most [`Limits::drain`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stats: ConnStats,
    stop: impl std::future::Future<Output = ()>,
) {
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(limits.body_timeout));
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    tokio::pin!(stop);
    let mut last_error_log: Option<tokio::time::Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait for descriptors to come back instead of spinning.
                    stats.inner.accept_errors.fetch_add(1, Ordering::Relaxed);
                    if last_error_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                        tracing::error!("http: cannot accept connections: {e}; retrying");
                        last_error_log = Some(tokio::time::Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(place) = stats.admit(peer.ip(), &limits) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = http.serve_connection(TokioIo::new(stream), service).with_upgrades();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _place = place;
            tokio::pin!(conn);
            let done = tokio::select! {
                r = conn.as_mut() => Some(r),
                _ = stopping.wait_for(|s| *s) => None,
            };
            let result = match done {
                Some(r) => r,
                None => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, "http connection: {e}");
            }
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    let deadline = tokio::time::Instant::now() + limits.drain;
    while stats.open() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if stats.open() > 0 {
        tracing::debug!("http: {} connections still open after {:?}; stopping anyway", stats.open(), limits.drain);
    }
}

/// The peer address of a request, when the server gave one (tests calling the router directly
/// give none). Never rejects.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_cannot_take_every_place() {
        let stats = ConnStats::default();
        let limits = Limits { max_connections: 5, max_per_client: 3, ..Limits::default() };
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "10.0.0.3".parse().unwrap();
        let held: Vec<Place> = (0..3).map(|_| stats.admit(a, &limits).unwrap()).collect();
        assert!(stats.admit(a, &limits).is_none(), "a fourth from the same client");
        let others: Vec<Place> = (0..2).map(|_| stats.admit(b, &limits).unwrap()).collect();
        assert!(stats.admit(b, &limits).is_none(), "over the total");
        assert_eq!((stats.open(), stats.refused()), (5, 2));
        drop(held);
        assert_eq!(stats.open(), 2);
        assert!(stats.admit(a, &limits).is_some(), "places come back when connections close");
        drop(others);
    }
}
