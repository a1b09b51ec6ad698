//! The floor of the HTTP throughput bar in BENCHMARKS.md: a bare axum handler answering
//! `GET /manage/projects` with a fixed JSON body — the bytes of the file given, normally a
//! real `opcore serve` response, so both servers send bodies of the same size. No
//! authentication, no storage, no log: what the HTTP stack alone costs.
//!
//! ```text
//! cargo run --release --features server --example http-floor -- 127.0.0.1:3334 body.json
//! ```

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use hyper::body::Bytes;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(body)) = (args.next(), args.next()) else {
        return Err("usage: http-floor ADDR BODY_FILE".into());
    };
    let body = Bytes::from(std::fs::read(&body)?);
    let app = Router::new().route(
        "/manage/projects",
        get(move || {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("http-floor: serving on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
