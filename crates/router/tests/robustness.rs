//! Garbage to the router's port: every connection gets an answer or a close, nothing panics,
//! and the router keeps routing.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use portcullis_ni::TalkMode;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn garbage(rng: &mut impl Rng) -> Vec<u8> {
    let prefixes: [&[u8]; 6] = [
        b"",
        b"NI_ROUTE\0",
        b"ROUTER_ADM\0",
        b"NI_RTERR\0",
        b"NI_PING\0",
        b"\x16\x03\x01",
    ];
    let prefix = prefixes[rng.gen_range(0..prefixes.len())];
    let mut body = prefix.to_vec();
    let extra = rng.gen_range(0..300);
    body.extend((0..extra).map(|_| rng.gen::<u8>()));
    match rng.gen_range(0..3) {
        // Framed with the right length.
        0 => portcullis_ni::frame(&body),
        // Framed with a random length.
        1 => {
            let mut out = rng.gen::<u32>().to_be_bytes().to_vec();
            out.extend(body);
            out
        }
        // Unframed.
        _ => body,
    }
}

#[tokio::test]
async fn random_bytes_never_panic_the_router() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let ni = ni_echo().await;
    let router = start_router_with(&format!("P * * {}\nP * * *\n", ni.port()), |c| {
        c.timeout = std::time::Duration::from_millis(500);
    })
    .await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5a9_2026);
    for round in 0..20 {
        let mut tasks = Vec::new();
        for _ in 0..25 {
            let bytes = garbage(&mut rng);
            let addr = router.addr;
            tasks.push(tokio::spawn(async move {
                let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
                let _ = tcp.write_all(&bytes).await;
                let _ = tcp.shutdown().await;
                let mut sink = Vec::new();
                // Every connection ends: with an answer and a close, or a close.
                tokio::time::timeout(TIMEOUT, tcp.read_to_end(&mut sink))
                    .await
                    .expect("the router closes every garbage connection")
                    .ok();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert!(
            !router.task.is_finished(),
            "router still running after round {round}"
        );
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "no panics");
    let mut stream = connect(
        &format!("{}/H/127.0.0.1/S/{}", router.hop(), ni.port()),
        TalkMode::Msg,
    )
    .await
    .unwrap();
    ni_roundtrip(&mut stream, b"still routing").await;
}
