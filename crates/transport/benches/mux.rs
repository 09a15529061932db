//! The multiplexer alone, over an in-memory pipe (no TLS, no sockets): what one stream open,
//! one small round trip and one bulk megabyte cost in the h2 driver and the `H2Stream`
//! adapter. Run: `cargo bench -p portcullis-transport --bench mux`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portcullis_proto::{Hello, OpenResult, StreamOpen, Welcome};
use portcullis_transport::tunnel::{
    connector_handshake, hub_read_hello, hub_welcome, HubMux, Incoming, MuxSettings,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

const T: Duration = Duration::from_secs(10);

fn open_req() -> StreamOpen {
    StreamOpen {
        session_id: "bench".into(),
        host: "echo.internal".into(),
        port: 7,
        principal: "bench".into(),
        entry: "bench".into(),
        client_addr: None,
        window: None,
        grant: None,
    }
}

/// A hub mux whose connector echoes every stream.
async fn tunnel() -> HubMux {
    let (hub_io, conn_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let hello = Hello {
            software_version: "0.1.0".into(),
            location: "bench".into(),
            hostname: None,
        };
        let (_, mut mux) = connector_handshake(conn_io, hello, &MuxSettings::default(), T)
            .await
            .expect("connector handshake");
        while let Some(Ok(inc)) = mux.accept().await {
            tokio::spawn(async move {
                match inc {
                    Incoming::Control(c) => {
                        // Hold the control stream open for the tunnel's lifetime.
                        let _keep = c;
                        std::future::pending::<()>().await;
                    }
                    Incoming::Stream(s) => {
                        let Ok(p) = s.read_open(T).await else { return };
                        let Ok(s) = p.accept() else { return };
                        let (mut r, mut w) = tokio::io::split(s);
                        let _ = tokio::io::copy(&mut r, &mut w).await;
                        let _ = w.shutdown().await;
                    }
                }
            });
        }
    });
    let mut hub_io = hub_io;
    hub_read_hello(&mut hub_io, T).await.expect("hello");
    let welcome = Welcome {
        hub_version: "0.1.0".into(),
        heartbeat_interval_ms: 60_000,
        warning: None,
        features: Vec::new(),
    };
    let (mux, control) = hub_welcome(hub_io, welcome, &MuxSettings::default(), T)
        .await
        .expect("welcome");
    std::mem::forget(control);
    mux
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let mux = rt.block_on(tunnel());

    c.bench_function("open_round_trip_close", |b| {
        b.to_async(&rt).iter(|| async {
            let mut s = match mux.open_stream(&open_req(), T).await.expect("open") {
                Ok(s) => s,
                Err(OpenResult::Refused { message, .. }) => panic!("{message}"),
                Err(r) => panic!("{r:?}"),
            };
            let mut buf = [0u8; 64];
            s.write_all(&buf).await.expect("write");
            s.read_exact(&mut buf).await.expect("read");
        })
    });

    let mut stream = rt
        .block_on(mux.open_stream(&open_req(), T))
        .expect("open")
        .expect("connected");
    c.bench_function("round_trip_64b", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut buf = [7u8; 64];
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    stream.write_all(&buf).await.expect("write");
                    stream.read_exact(&mut buf).await.expect("read");
                }
                start.elapsed()
            })
        })
    });

    let mut g = c.benchmark_group("bulk");
    g.throughput(Throughput::Bytes(1 << 20));
    g.bench_function("echo_1mib", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let chunk = vec![1u8; 64 << 10];
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    let (mut r, mut w) = tokio::io::split(&mut stream);
                    let writer = async {
                        for _ in 0..16 {
                            w.write_all(&chunk).await.expect("write");
                        }
                    };
                    let reader = async {
                        let mut left = 1usize << 20;
                        let mut buf = vec![0u8; 64 << 10];
                        while left > 0 {
                            let n = r.read(&mut buf).await.expect("read");
                            assert!(n > 0, "stream ended early");
                            left -= n;
                        }
                    };
                    tokio::join!(writer, reader);
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
