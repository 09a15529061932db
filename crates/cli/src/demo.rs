//! Demo back ends for `quickstart` and tests: a TCP echo server and a small HTTP server, both
//! on loopback, both stopping on a cancellation token.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Starts a TCP echo server on `addr` (port 0 for any); returns its address.
pub async fn echo_server(addr: SocketAddr, stop: CancellationToken) -> std::io::Result<SocketAddr> {
    let l = TcpListener::bind(addr).await?;
    let local = l.local_addr()?;
    tokio::spawn(async move {
        loop {
            let (mut s, _) = tokio::select! {
                _ = stop.cancelled() => break,
                r = l.accept() => match r { Ok(p) => p, Err(_) => continue },
            };
            let stop = stop.clone();
            tokio::spawn(async move {
                let _ = s.set_nodelay(true);
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = tokio::select! {
                        _ = stop.cancelled() => break,
                        r = s.read(&mut buf) => match r { Ok(0) | Err(_) => break, Ok(n) => n },
                    };
                    if s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok(local)
}

/// Starts an HTTP/1.1 server that answers every request with a short text naming the path.
pub async fn http_server(addr: SocketAddr, stop: CancellationToken) -> std::io::Result<SocketAddr> {
    let l = TcpListener::bind(addr).await?;
    let local = l.local_addr()?;
    tokio::spawn(async move {
        loop {
            let (s, _) = tokio::select! {
                _ = stop.cancelled() => break,
                r = l.accept() => match r { Ok(p) => p, Err(_) => continue },
            };
            let svc = hyper::service::service_fn(
                |req: hyper::Request<hyper::body::Incoming>| async move {
                    let body = format!(
                        "Hello from the Portcullis demo back end. You asked for {}\n",
                        req.uri().path()
                    );
                    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
                    resp.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    Ok::<_, Infallible>(resp)
                },
            );
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    Ok(local)
}
