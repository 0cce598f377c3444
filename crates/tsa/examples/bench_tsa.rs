//! Tokens per second from the timestamp authority, against raw ring P-256
//! signing measured in the same run (the limit: a token is one signature
//! plus a few hundred bytes of DER).
//!
//! Three figures: `Authority::respond` on one thread (parse the request,
//! build and sign the token, encode the reply); the same on every core;
//! and the HTTP server with keep-alive clients on loopback, the path a
//! client of `congvan tsa run` takes.
//!
//! `cargo run --release -p congvan-tsa --example bench_tsa`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_macros)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use congvan_sign::{init_root, issue_leaf, Algorithm, LeafRequest, OrgId, Role, SigningKey};
use congvan_tsa::{Authority, Imprint, TimestampRequest, QUERY_MEDIA_TYPE};
use http_body_util::{BodyExt, Full};
use time::OffsetDateTime;

const SECONDS: f64 = 3.0;

fn main() {
    let key = || SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let root = init_root("Root (bench)", key(), 365).unwrap();
    let request = LeafRequest {
        role: Role::Tsa,
        name: "TSA (bench)".into(),
        org: OrgId::parse("H99").unwrap(),
        organization_name: None,
        position: None,
        dns: Vec::new(),
        ips: Vec::new(),
        days: 365,
    };
    let authority =
        Arc::new(Authority::new(issue_leaf(&root, &request, key()).unwrap(), "1.2.3.4.1").unwrap());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // The limit: ring signing 32-byte-ish messages with the same key type.
    let raw_key = key();
    let message = [7u8; 200];
    let raw = rate(|| {
        raw_key.sign(&message).unwrap();
    });

    let queries: Vec<Vec<u8>> = (0..1024)
        .map(|i| {
            TimestampRequest::new(&Imprint::sha256_of(&[i as u8; 8]))
                .unwrap()
                .der
        })
        .collect();
    let one = {
        let mut i = 0;
        rate(|| {
            authority.respond(&queries[i % queries.len()], OffsetDateTime::now_utc());
            i += 1;
        })
    };
    let all = parallel_rate(cores, &authority, &queries);
    let http = http_rate(&authority, &queries, 8);

    println!("raw ring P-256 signing, 1 thread:     {raw:>9.0} /s");
    println!(
        "tokens (respond), 1 thread:           {one:>9.0} /s  = {:.2} of raw signing",
        one / raw
    );
    println!("tokens (respond), {cores} threads:          {all:>9.0} /s  = {:.2} of raw signing x {cores}", all / (raw * cores as f64));
    println!(
        "tokens over HTTP, 8 keep-alive clients: {http:>7.0} /s  = {:.2} of raw signing x {cores}",
        http / (raw * cores as f64)
    );
}

fn rate(mut f: impl FnMut()) -> f64 {
    for _ in 0..200 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < SECONDS {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn parallel_rate(threads: usize, authority: &Arc<Authority>, queries: &[Vec<u8>]) -> f64 {
    let start = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let authority = authority.clone();
                scope.spawn(move || {
                    let mut n = 0u64;
                    while start.elapsed().as_secs_f64() < SECONDS {
                        authority.respond(
                            &queries[(n as usize + t) % queries.len()],
                            OffsetDateTime::now_utc(),
                        );
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    counts.iter().sum::<u64>() as f64 / start.elapsed().as_secs_f64()
}

fn http_rate(authority: &Arc<Authority>, queries: &[Vec<u8>], clients: usize) -> f64 {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(congvan_tsa::serve(listener, authority.clone()));
        let queries: Arc<Vec<Vec<u8>>> = Arc::new(queries.to_vec());
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(SECONDS);
        let mut tasks = Vec::new();
        for c in 0..clients {
            let queries = queries.clone();
            tasks.push(tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let body = Bytes::from(queries[(n as usize + c) % queries.len()].clone());
                    let request = hyper::Request::post("/")
                        .header(hyper::header::HOST, "127.0.0.1")
                        .header(hyper::header::CONTENT_TYPE, QUERY_MEDIA_TYPE)
                        .body(Full::new(body))
                        .unwrap();
                    let response = sender.send_request(request).await.unwrap();
                    let reply = response.into_body().collect().await.unwrap().to_bytes();
                    assert!(reply.len() > 500, "not a token");
                    n += 1;
                }
                n
            }));
        }
        let mut total = 0u64;
        for task in tasks {
            total += task.await.unwrap();
        }
        total as f64 / start.elapsed().as_secs_f64()
    })
}
