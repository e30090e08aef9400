//! The server speaks HTTP/1.1 and HTTP/2 on every connection: over TLS the client chooses by
//! ALPN, and without TLS (`--no-tls`) HTTP/2 with prior knowledge (h2c) works too.

mod common;

use common::{fresh_dir, TestServer};
use reqwest::Version;

#[tokio::test]
async fn tls_serves_http2_and_http1_by_alpn() {
    let s = TestServer::start().await;
    let h2 = s.client.get(s.abs("/_azemu/health")).send().await.expect("h2 request");
    assert_eq!(h2.version(), Version::HTTP_2, "ALPN offers h2 first");
    assert_eq!(h2.status(), 200);
    let h1_client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&s.ca_path).unwrap()).unwrap())
        .http1_only()
        .build()
        .unwrap();
    let h1 = h1_client.get(s.abs("/_azemu/health")).send().await.expect("h1 request");
    assert_eq!(h1.version(), Version::HTTP_11);
    assert_eq!(h1.status(), 200);
}

#[tokio::test]
async fn plain_http_serves_http1_and_h2c() {
    let dir = fresh_dir();
    let running = azemu::start(azemu::Config {
        port: 0,
        tls: false,
        data_dir: dir.clone(),
        ..Default::default()
    })
    .await
    .expect("azemu starts without TLS");
    let url = format!("{}/_azemu/health", running.url);
    assert!(url.starts_with("http://"), "{url}");
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    let r = h1.get(&url).send().await.expect("h1 request");
    assert_eq!((r.version(), r.status().as_u16()), (Version::HTTP_11, 200));
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let r = h2.get(&url).send().await.expect("h2c request");
    assert_eq!((r.version(), r.status().as_u16()), (Version::HTTP_2, 200));
    running.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
