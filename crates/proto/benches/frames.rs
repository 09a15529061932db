//! Frame encode/decode cost for the messages on the session path (`StreamOpen`,
//! `StreamReply`) and the control path (`Heartbeat`, a 100-entry `Inventory`).
//! Run: `cargo bench -p portcullis-proto --bench frames`.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portcullis_proto::frame::{decode, encode};
use portcullis_proto::*;

fn messages() -> Vec<(&'static str, Message)> {
    vec![
        (
            "stream_open",
            Message::StreamOpen(StreamOpen {
                session_id: "5f0c6c9e-8a39-4d8e-9a53-0b4f1f1f6a11".into(),
                host: "erp.internal".into(),
                port: 3200,
                principal: "token:ci-bot#42".into(),
                entry: "socks5".into(),
                client_addr: Some("127.0.0.1:53122".into()),
                window: None,
                grant: None,
            }),
        ),
        (
            "stream_reply",
            Message::StreamReply(StreamReply {
                session_id: "5f0c6c9e-8a39-4d8e-9a53-0b4f1f1f6a11".into(),
                result: OpenResult::Connected,
            }),
        ),
        (
            "heartbeat",
            Message::Heartbeat(Heartbeat { seq: 7, ack: false }),
        ),
        (
            "inventory_100",
            Message::Inventory(Inventory {
                targets: (0..100)
                    .map(|i| InventoryTarget {
                        name: format!("system-{i}"),
                        virtual_host: format!("sys{i}.internal"),
                        port_start: 3200,
                        port_end: 3299,
                        protocol: TargetProtocol::Tcp,
                    })
                    .collect(),
            }),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    for (name, msg) in messages() {
        let mut enc = BytesMut::new();
        encode(&msg, &mut enc);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(enc.len() as u64));
        g.bench_function("encode", |b| {
            let mut buf = BytesMut::with_capacity(enc.len());
            b.iter(|| {
                buf.clear();
                encode(std::hint::black_box(&msg), &mut buf);
            })
        });
        g.bench_function("decode", |b| {
            b.iter(|| decode(std::hint::black_box(&enc)).expect("valid frame"))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
