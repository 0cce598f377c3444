//! The authority over HTTP, as `congvan tsa run` serves it and
//! `dispatch sign --tsa` asks it.

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use congvan_tsa::{request_token, serve, Authority, Error, Imprint};
use support::Pki;

#[tokio::test]
async fn a_client_gets_checked_tokens_with_unique_serials_across_restarts() {
    let pki = Pki::new();
    let trust = pki.trust();
    let mut serials = HashSet::new();
    // Two runs of the authority with the same key: serials never repeat.
    for _run in 0..2 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        let authority = Arc::new(Authority::new(pki.tsa_credential(), "1.2.3.4.1").unwrap());
        let server = tokio::spawn(serve(listener, authority));
        for i in 0..200 {
            let imprint = Imprint::sha256_of(format!("document {i}").as_bytes());
            let (_, checked) = request_token(&url, &imprint, &trust).await.unwrap();
            assert!(serials.insert(checked.serial.clone()), "serial repeated");
        }
        server.abort();
    }
    assert_eq!(serials.len(), 400);
}

#[tokio::test]
async fn a_tsa_that_is_not_there_is_a_clear_error() {
    let pki = Pki::new();
    // Port 1: closed, and never handed out for port 0 (a port bound and
    // dropped here could be given at once to another story's TSA running
    // alongside, which then answers with a token of its own PKI).
    let url = "http://127.0.0.1:1/".to_string();
    let refusal = request_token(&url, &Imprint::sha256_of(b"x"), &pki.trust())
        .await
        .unwrap_err();
    assert!(
        matches!(&refusal, Error::Http { problem, .. } if problem.contains("cannot connect")),
        "{refusal}"
    );
    let refusal = request_token(
        "https://tsa.example/",
        &Imprint::sha256_of(b"x"),
        &pki.trust(),
    )
    .await
    .unwrap_err();
    assert!(refusal.to_string().contains("http://"), "{refusal}");
}

#[tokio::test]
async fn garbage_an_oversized_body_and_a_wrong_method_get_answers_and_the_server_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pki = Pki::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let authority = Arc::new(Authority::new(pki.tsa_credential(), "1.2.3.4.1").unwrap());
    let server = tokio::spawn(serve(listener, authority));
    let exchange = |raw: Vec<u8>| async move {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(&raw).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    };
    let post = |body: &[u8]| {
        let mut raw = format!(
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Type: application/timestamp-query\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        raw
    };
    // Not DER: a granted-or-not reply, here a rejection saying why.
    let answer = exchange(post(b"not a request")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("not a DER TimeStampReq"), "{answer}");
    let answer = exchange(post(&vec![0x30; 20_000])).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let answer = exchange(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec()).await;
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    // Still serving.
    let url = format!("http://{addr}/");
    request_token(&url, &Imprint::sha256_of(b"after"), &pki.trust())
        .await
        .unwrap();
    server.abort();
}
