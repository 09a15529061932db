//! `portcullis-load`: the load process of the end-to-end benchmark (`bench/run`).
//!
//! Plain blocking sockets and threads, no async runtime and no dependencies, so the load side
//! is the same simple program for every path it measures. Every subcommand reaches its target
//! either directly (`--target host:port`) or through a SOCKS5 proxy with username/password
//! (`--socks5 ip:port --user U --pass P --target host:port`, the target sent as a domain name
//! unless it is an IPv4 literal), which is how Portcullis is measured through its real entry.
//!
//! Every subcommand prints one result line `<name> key=value …` on stdout. Every loop is bounded
//! by its count and by a time cap (`--max-secs`, default 60 s; `hold`: 600 s).

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CHUNK: usize = 64 * 1024;
const MSG: usize = 64;
const CONN_STACK: usize = 128 * 1024;

type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USAGE: &str = "\
portcullis-load <subcommand> [options]

  backend  [--echo 127.0.0.1:0] [--sink 127.0.0.1:0] [--stats 127.0.0.1:0] [--max-secs 7200]
           echo (thread per connection) + sink (counts bytes) + stats (line `bytes` -> total
           sunk); prints `backend echo=A sink=B stats=C`; exits when stdin closes
  bulk     --streams N --secs S [--warmup 0.5] [--stats ADDR]    64 KiB writes to a sink
  rtt      --count 10000 --warmup 500                              64 B round trips, 1 conn
  connrate --count 2000                       sequential {connect, one 64 B round trip, close}
  hold     --count 1000 [--until-file F]      open N, one round trip each, print `held N`,
                                              keep them until stdin closes / F exists
  hol      --count 2000 --idle-count 2000 --warmup 200 --bulk-target H:P [--stats ADDR]
           interactive p50/p99 idle, then while a bulk stream runs (same entry / tunnel)
  probe    [--interval-ms 10] [--deadline-secs 30]   retry one round trip until it succeeds

common: --target host:port  [--socks5 ip:port --user U --pass P]  [--max-secs N]
";

// ------------------------------------------------------------------------------------------
// Arguments

struct Args {
    map: HashMap<String, String>,
}

impl Args {
    fn parse(raw: &[String]) -> R<Args> {
        let mut map = HashMap::new();
        let mut i = 0;
        while i < raw.len() {
            let k = raw[i]
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {:?}\n{USAGE}", raw[i]))?;
            let v = raw
                .get(i + 1)
                .ok_or_else(|| format!("--{k} needs a value"))?;
            map.insert(k.to_string(), v.clone());
            i += 2;
        }
        Ok(Args { map })
    }
    fn str(&self, k: &str) -> Option<&str> {
        self.map.get(k).map(String::as_str)
    }
    fn need(&self, k: &str) -> R<&str> {
        self.str(k).ok_or_else(|| format!("--{k} is required").into())
    }
    fn num<T: std::str::FromStr>(&self, k: &str, default: T) -> R<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.str(k) {
            None => Ok(default),
            Some(s) => s.parse().map_err(|e| format!("--{k} {s:?}: {e}").into()),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Dialling: direct or through SOCKS5 with username/password

#[derive(Clone)]
struct Dial {
    socks: Option<(SocketAddr, String, String)>,
    target: String,
}

impl Dial {
    fn from_args(a: &Args, target_key: &str) -> R<Dial> {
        let target = a.need(target_key)?.to_string();
        let socks = match a.str("socks5") {
            None => None,
            Some(p) => Some((
                p.parse()?,
                a.need("user")?.to_string(),
                a.need("pass")?.to_string(),
            )),
        };
        Ok(Dial { socks, target })
    }

    fn connect(&self, timeout: Duration) -> R<TcpStream> {
        let s = match &self.socks {
            None => {
                let addr = self
                    .target
                    .to_socket_addrs()?
                    .next()
                    .ok_or("target resolves to nothing")?;
                TcpStream::connect_timeout(&addr, timeout)?
            }
            Some((proxy, user, pass)) => {
                let mut s = TcpStream::connect_timeout(proxy, timeout)?;
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(timeout))?;
                socks5_handshake(&mut s, user, pass, &self.target)?;
                s.set_read_timeout(None)?;
                s
            }
        };
        s.set_nodelay(true)?;
        Ok(s)
    }
}

/// RFC 1928 + RFC 1929, the three round trips a real client makes.
fn socks5_handshake(s: &mut TcpStream, user: &str, pass: &str, target: &str) -> R<()> {
    s.write_all(&[5, 1, 2])?;
    let mut b = [0u8; 2];
    s.read_exact(&mut b)?;
    if b != [5, 2] {
        return Err(format!("SOCKS5 method reply {b:?}, wanted username/password").into());
    }
    let mut auth = vec![1, user.len() as u8];
    auth.extend_from_slice(user.as_bytes());
    auth.push(pass.len() as u8);
    auth.extend_from_slice(pass.as_bytes());
    s.write_all(&auth)?;
    s.read_exact(&mut b)?;
    if b != [1, 0] {
        return Err(format!("SOCKS5 authentication refused {b:?}").into());
    }
    let (host, port) = target
        .rsplit_once(':')
        .ok_or("target must be host:port")?;
    let port: u16 = port.parse()?;
    let mut req = vec![5, 1, 0];
    match host.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => {
            req.push(1);
            req.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            req.push(3);
            req.push(host.len() as u8);
            req.extend_from_slice(host.as_bytes());
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req)?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head)?;
    if head[0] != 5 || head[1] != 0 {
        return Err(format!("SOCKS5 connect refused, reply code {}", head[1]).into());
    }
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut l = [0u8; 1];
            s.read_exact(&mut l)?;
            l[0] as usize + 2
        }
        t => return Err(format!("SOCKS5 reply address type {t}").into()),
    };
    let mut skip = vec![0u8; rest];
    s.read_exact(&mut skip)?;
    Ok(())
}

fn round_trip(s: &mut TcpStream, out: &[u8; MSG], inb: &mut [u8; MSG]) -> io::Result<()> {
    s.write_all(out)?;
    s.read_exact(inb)
}

// ------------------------------------------------------------------------------------------
// Statistics helpers

struct Lat {
    p50: f64,
    p99: f64,
    mean: f64,
    max: f64,
    n: usize,
}

fn lat(mut ns: Vec<u64>) -> Lat {
    if ns.is_empty() {
        return Lat { p50: f64::NAN, p99: f64::NAN, mean: f64::NAN, max: f64::NAN, n: 0 };
    }
    ns.sort_unstable();
    let pick = |q: f64| {
        let i = ((ns.len() as f64 * q).ceil() as usize).clamp(1, ns.len()) - 1;
        ns[i] as f64 / 1000.0
    };
    Lat {
        p50: pick(0.50),
        p99: pick(0.99),
        mean: ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1000.0,
        max: *ns.last().unwrap() as f64 / 1000.0,
        n: ns.len(),
    }
}

fn unix_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// Asks the backend's stats port for the total number of bytes its sink has received.
fn sink_bytes(stats: &str) -> R<u64> {
    let mut s = TcpStream::connect(stats)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"bytes\n")?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line)?;
    Ok(line.trim().parse()?)
}

/// Round trips on `s` until `count` are done or `deadline`; returns nanoseconds per trip.
fn trips(s: &mut TcpStream, count: usize, deadline: Instant) -> R<(Vec<u64>, bool)> {
    let out = [0x5au8; MSG];
    let mut inb = [0u8; MSG];
    let mut v = Vec::with_capacity(count);
    for _ in 0..count {
        if Instant::now() > deadline {
            return Ok((v, true));
        }
        let t = Instant::now();
        round_trip(s, &out, &mut inb)?;
        v.push(t.elapsed().as_nanos() as u64);
    }
    Ok((v, false))
}

// ------------------------------------------------------------------------------------------
// Subcommands

fn backend(a: &Args) -> R<()> {
    let echo = TcpListener::bind(a.str("echo").unwrap_or("127.0.0.1:0"))?;
    let sink = TcpListener::bind(a.str("sink").unwrap_or("127.0.0.1:0"))?;
    let stats = TcpListener::bind(a.str("stats").unwrap_or("127.0.0.1:0"))?;
    let max = Duration::from_secs(a.num("max-secs", 7200u64)?);
    let sunk = Arc::new(AtomicU64::new(0));
    println!(
        "backend echo={} sink={} stats={}",
        echo.local_addr()?,
        sink.local_addr()?,
        stats.local_addr()?
    );
    io::stdout().flush()?;

    thread::spawn(move || {
        for c in echo.incoming().flatten() {
            let _ = thread::Builder::new().stack_size(CONN_STACK).spawn(move || {
                let mut c = c;
                let _ = c.set_nodelay(true);
                let mut buf = vec![0u8; CHUNK];
                loop {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if c.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    let s2 = sunk.clone();
    thread::spawn(move || {
        for c in sink.incoming().flatten() {
            let sunk = s2.clone();
            let _ = thread::Builder::new().stack_size(CONN_STACK).spawn(move || {
                let mut c = c;
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            sunk.fetch_add(n as u64, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    thread::spawn(move || {
        for c in stats.incoming().flatten() {
            let sunk = sunk.clone();
            let _ = thread::Builder::new().stack_size(CONN_STACK).spawn(move || {
                let Ok(w) = c.try_clone() else { return };
                let mut w = w;
                for line in BufReader::new(c).lines().map_while(Result::ok) {
                    let ok = match line.trim() {
                        "bytes" => writeln!(w, "{}", sunk.load(Ordering::Relaxed)),
                        _ => writeln!(w, "?"),
                    };
                    if ok.is_err() {
                        break;
                    }
                }
            });
        }
    });
    // Exit when the parent closes our stdin (or dies), or at the cap.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = io::stdin().read_to_end(&mut sink);
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(max);
    Ok(())
}

fn bulk(a: &Args) -> R<()> {
    let d = Dial::from_args(a, "target")?;
    let n: usize = a.num("streams", 1)?;
    let secs: f64 = a.num("secs", 5.0)?;
    let warm: f64 = a.num("warmup", 0.5)?;
    let cap: f64 = a.num("max-secs", 60.0)?;
    if !(secs > 0.0 && secs + warm < cap) || n == 0 || n > 256 {
        return Err("need 0 < secs, secs + warmup < max-secs, 1 <= streams <= 256".into());
    }
    let stats = a.str("stats").map(str::to_string);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let hard = Instant::now() + Duration::from_secs_f64(cap);
    let mut conns = Vec::new();
    for _ in 0..n {
        conns.push(d.connect(Duration::from_secs(10))?);
    }
    let mut ws = Vec::new();
    for mut c in conns {
        let (stop, sent) = (stop.clone(), sent.clone());
        c.set_write_timeout(Some(Duration::from_secs(5)))?;
        ws.push(thread::spawn(move || {
            let chunk = vec![0xa5u8; CHUNK];
            while !stop.load(Ordering::Relaxed) && Instant::now() < hard {
                if c.write_all(&chunk).is_err() {
                    break;
                }
                sent.fetch_add(CHUNK as u64, Ordering::Relaxed);
            }
            let _ = c.shutdown(Shutdown::Both);
        }));
    }
    thread::sleep(Duration::from_secs_f64(warm));
    let r0 = match &stats {
        Some(s) => Some(sink_bytes(s)?),
        None => None,
    };
    let (s0, t0) = (sent.load(Ordering::Relaxed), Instant::now());
    thread::sleep(Duration::from_secs_f64(secs));
    let r1 = match &stats {
        Some(s) => Some(sink_bytes(s)?),
        None => None,
    };
    let (s1, t1) = (sent.load(Ordering::Relaxed), Instant::now());
    stop.store(true, Ordering::Relaxed);
    for w in ws {
        let _ = w.join();
    }
    let dt = (t1 - t0).as_secs_f64();
    let sender = (s1 - s0) as f64 * 8.0 / dt / 1e9;
    let recv = match (r0, r1) {
        (Some(a), Some(b)) => (b - a) as f64 * 8.0 / dt / 1e9,
        _ => sender,
    };
    println!(
        "bulk streams={n} secs={dt:.3} gbps={recv:.3} sender_gbps={sender:.3} side={}",
        if stats.is_some() { "receiver" } else { "sender" }
    );
    Ok(())
}

fn rtt(a: &Args) -> R<()> {
    let d = Dial::from_args(a, "target")?;
    let count: usize = a.num("count", 10_000)?;
    let warm: usize = a.num("warmup", 500)?;
    let deadline = Instant::now() + Duration::from_secs(a.num("max-secs", 60u64)?);
    let mut s = d.connect(Duration::from_secs(10))?;
    let (_, cut_w) = trips(&mut s, warm, deadline)?;
    let (v, cut) = trips(&mut s, count, deadline)?;
    let l = lat(v);
    println!(
        "rtt n={} p50_us={:.1} p99_us={:.1} mean_us={:.1} max_us={:.1} capped={}",
        l.n,
        l.p50,
        l.p99,
        l.mean,
        l.max,
        cut || cut_w
    );
    Ok(())
}

fn connrate(a: &Args) -> R<()> {
    let d = Dial::from_args(a, "target")?;
    let count: usize = a.num("count", 2000)?;
    let deadline = Instant::now() + Duration::from_secs(a.num("max-secs", 60u64)?);
    let out = [0x5au8; MSG];
    let mut inb = [0u8; MSG];
    let mut each = Vec::with_capacity(count);
    let t0 = Instant::now();
    let mut capped = false;
    for i in 0..count {
        if Instant::now() > deadline {
            capped = true;
            break;
        }
        let t = Instant::now();
        let mut s = d
            .connect(Duration::from_secs(10))
            .map_err(|e| format!("connection {i}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        round_trip(&mut s, &out, &mut inb).map_err(|e| format!("connection {i}: {e}"))?;
        drop(s);
        each.push(t.elapsed().as_nanos() as u64);
    }
    let dt = t0.elapsed().as_secs_f64();
    let n = each.len();
    let l = lat(each);
    println!(
        "connrate n={n} secs={dt:.3} per_sec={:.1} p50_us={:.1} p99_us={:.1} capped={capped}",
        n as f64 / dt,
        l.p50,
        l.p99
    );
    Ok(())
}

fn hold(a: &Args) -> R<()> {
    let d = Dial::from_args(a, "target")?;
    let count: usize = a.num("count", 1000)?;
    let max = Duration::from_secs(a.num("max-secs", 600u64)?);
    let until = a.str("until-file").map(std::path::PathBuf::from);
    let t0 = Instant::now();
    let out = [0x5au8; MSG];
    let mut inb = [0u8; MSG];
    let mut held = Vec::with_capacity(count);
    for i in 0..count {
        if t0.elapsed() > max {
            return Err(format!("hold: time cap after {i} connections").into());
        }
        let mut s = d
            .connect(Duration::from_secs(10))
            .map_err(|e| format!("hold: connection {i}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        round_trip(&mut s, &out, &mut inb).map_err(|e| format!("hold: connection {i}: {e}"))?;
        held.push(s);
    }
    println!("held {} secs={:.3}", held.len(), t0.elapsed().as_secs_f64());
    io::stdout().flush()?;
    let closed = Arc::new(AtomicBool::new(false));
    let c2 = closed.clone();
    thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = io::stdin().read_to_end(&mut sink);
        c2.store(true, Ordering::Relaxed);
    });
    while !closed.load(Ordering::Relaxed)
        && t0.elapsed() < max
        && !until.as_ref().is_some_and(|f| f.exists())
    {
        thread::sleep(Duration::from_millis(20));
    }
    // Check the connections are still alive, then let them go.
    let mut alive = 0;
    for s in held.iter_mut() {
        if round_trip(s, &out, &mut inb).is_ok() {
            alive += 1;
        }
    }
    drop(held);
    println!("released alive={alive}");
    Ok(())
}

fn hol(a: &Args) -> R<()> {
    let d = Dial::from_args(a, "target")?;
    let bulk_dial = Dial {
        socks: d.socks.clone(),
        target: a.need("bulk-target")?.to_string(),
    };
    let count: usize = a.num("count", 2000)?;
    let idle_count: usize = a.num("idle-count", 2000)?;
    let warm: usize = a.num("warmup", 200)?;
    let deadline = Instant::now() + Duration::from_secs(a.num("max-secs", 60u64)?);
    let stats = a.str("stats").map(str::to_string);
    let mut inter = d.connect(Duration::from_secs(10))?;
    trips(&mut inter, warm, deadline)?;
    let (idle, c1) = trips(&mut inter, idle_count, deadline)?;
    let mut b = bulk_dial.connect(Duration::from_secs(10))?;
    b.set_write_timeout(Some(Duration::from_secs(5)))?;
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let writer = thread::spawn(move || {
        let chunk = vec![0xa5u8; CHUNK];
        while !st.load(Ordering::Relaxed) && Instant::now() < deadline {
            if b.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = b.shutdown(Shutdown::Both);
    });
    // Let the bulk stream reach its rate before the loaded round trips are timed.
    thread::sleep(Duration::from_millis(300));
    let r0 = match &stats {
        Some(s) => Some(sink_bytes(s)?),
        None => None,
    };
    let t0 = Instant::now();
    let (loaded, c2) = trips(&mut inter, count, deadline)?;
    let dt = t0.elapsed().as_secs_f64();
    let r1 = match &stats {
        Some(s) => Some(sink_bytes(s)?),
        None => None,
    };
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    let bulk_gbps = match (r0, r1) {
        (Some(x), Some(y)) => (y - x) as f64 * 8.0 / dt / 1e9,
        _ => f64::NAN,
    };
    let (i, l) = (lat(idle), lat(loaded));
    println!(
        "hol idle_n={} idle_p50_us={:.1} idle_p99_us={:.1} loaded_n={} loaded_p50_us={:.1} loaded_p99_us={:.1} loaded_max_us={:.1} bulk_gbps={:.3} capped={}",
        i.n, i.p50, i.p99, l.n, l.p50, l.p99, l.max, bulk_gbps, c1 || c2
    );
    Ok(())
}

fn probe(a: &Args) -> R<()> {
    let d = Dial::from_args(a, "target")?;
    let every = Duration::from_millis(a.num("interval-ms", 10u64)?);
    let deadline_secs: f64 = a.num("deadline-secs", 30.0)?;
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(deadline_secs);
    let out = [0x5au8; MSG];
    let mut inb = [0u8; MSG];
    let mut attempts = 0u64;
    let mut last = String::new();
    while Instant::now() < deadline {
        attempts += 1;
        let r = d.connect(Duration::from_secs(1)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(1)))?;
            round_trip(&mut s, &out, &mut inb)?;
            Ok(())
        });
        match r {
            Ok(()) => {
                println!(
                    "probe ok attempts={attempts} unix_ns={} elapsed_ms={:.1}",
                    unix_ns(),
                    t0.elapsed().as_secs_f64() * 1000.0
                );
                return Ok(());
            }
            Err(e) => last = e.to_string(),
        }
        thread::sleep(every);
    }
    println!("probe failed attempts={attempts} last_error={last:?}");
    std::process::exit(1);
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = raw.first() else {
        eprint!("{USAGE}");
        std::process::exit(2);
    };
    let r = Args::parse(&raw[1..]).and_then(|a| match cmd.as_str() {
        "backend" => backend(&a),
        "bulk" => bulk(&a),
        "rtt" => rtt(&a),
        "connrate" => connrate(&a),
        "hold" => hold(&a),
        "hol" => hol(&a),
        "probe" => probe(&a),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown subcommand {other:?}\n{USAGE}").into()),
    });
    if let Err(e) = r {
        eprintln!("portcullis-load {cmd}: {e}");
        std::process::exit(1);
    }
}
