//! An HTTP server that restarts without refusing a connection: it takes the listening socket
//! named `http` that systemd passes (a `.socket` unit, or the fd store after a restart), else
//! binds the address given as its first argument; puts the socket in the fd store, so the
//! next instance gets the same one back while connections wait in its backlog; sends READY=1
//! once the socket is in hand; answers `GET /` with its pid; and on SIGTERM (STOPPING=1 goes out
//! at once, `sdnotify::shutdown_requested()`) stops accepting, answers the connections it took
//! last (a graceful shutdown alone would close one whose request it has not read yet) and
//! finishes the requests under way before it exits. What it did not accept waits in the
//! socket's backlog for the next instance. `ZD_DRAIN_MS` sets how long the last connections get
//! (250 ms).
//!
//! ```text
//! cargo run --example zero_downtime 127.0.0.1:8080        # alone
//! ```
//!
//! Under systemd, either with a socket unit (`ListenStream=8080`, `FileDescriptorName=http`) or
//! with the fd store alone (`FileDescriptorStoreMax=1`, `FileDescriptorStorePreserve=restart`):
//! see the README's "Socket activation and zero-downtime restarts".

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long the connections accepted last get to send their request before the graceful
/// shutdown closes idle ones (`ZD_DRAIN_MS`).
fn last_requests() -> Duration {
    let millis = std::env::var("ZD_DRAIN_MS").ok().and_then(|v| v.parse().ok());
    Duration::from_millis(millis.unwrap_or(250))
}

#[sdnotify::main]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    // SIGTERM and SIGINT are caught from here on (before READY=1); it resolves on the first.
    let shutdown = sdnotify::shutdown_requested();
    let listener = sdnotify::init! {
        let listener = sdnotify::activation::tcp_listener_or_bind("http", &*address)?;
        // Kept by the manager while this instance restarts (where its store is enabled).
        match sdnotify::fdstore("http", &[listener.as_fd()]) {
            Ok(_) => {}
            Err(sdnotify::Error::FdStoreDisabled) => eprintln!("no fd store: a restart closes the socket"),
            Err(e) => return Err(e.into()),
        }
        sdnotify::status!("serving on {}", listener.local_addr()?);
        // tokio needs a non-blocking socket; systemd passes a blocking one.
        listener.set_nonblocking(true)?;
        TcpListener::from_std(listener)?
    };
    let pid = std::process::id();
    let app = Router::new().route("/", get(move || async move { format!("{pid}\n") }));
    let (stop, stopped) = watch::channel(false);
    let drain = last_requests();
    axum::serve(UntilStopped { listener, stopped }, app)
        .with_graceful_shutdown(async move {
            // SIGTERM or SIGINT: STOPPING=1 has gone out; the manager shows `deactivating`.
            shutdown.await;
            let _ = stop.send(true);
            tokio::time::sleep(drain).await;
        })
        .await?;
    Ok(())
}

/// The listener until SIGTERM; after it, it accepts nothing more.
struct UntilStopped {
    listener: TcpListener,
    stopped: watch::Receiver<bool>,
}

impl axum::serve::Listener for UntilStopped {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            if *self.stopped.borrow() {
                std::future::pending::<()>().await;
            }
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(connection) => return connection,
                    // Out of descriptors, say: wait, as axum's own listener does.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                _ = self.stopped.changed() => {}
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}
