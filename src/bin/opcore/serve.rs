//! `opcore serve`: bind, bootstrap a `Default` organization on first run, serve until
//! SIGINT/SIGTERM.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use clap::Args;
use opcore::server::{self, LogSink, ServerOptions};
use opcore::{Bootstrap, Store};

use crate::{open, CliError, StoreArgs};

/// How often a running server removes projects past their deletion time (they are already
/// invisible and locked out from that moment; this reclaims their rows).
const PURGE_EVERY: Duration = Duration::from_secs(3600);

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on. Only loopback by default; give e.g. 0.0.0.0:3333 to accept
    /// connections from other machines (plain HTTP: put a TLS proxy in front).
    #[arg(long, value_name = "ADDR", default_value = server::DEFAULT_LISTEN)]
    listen: String,
    /// Seconds a request's head (request line and headers) may take to arrive, from its
    /// first byte (on a new connection, from the connection).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    header_timeout: Duration,
    /// Seconds a request's whole body may take to arrive after its head (then 408).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    body_timeout: Duration,
    /// Seconds a keep-alive connection may stay idle between requests before it is closed.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds)]
    idle_timeout: Duration,
    /// Most connections open at once from one source address (more are refused with 503).
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections_per_address: u32,
    /// Most connections open at once in all (more are refused with 503).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// On SIGINT/SIGTERM, seconds requests in flight get to finish before their connections
    /// are closed and the process exits 0.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    shutdown_grace: Duration,
}

impl ServeArgs {
    fn options(&self) -> ServerOptions {
        ServerOptions {
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            idle_timeout: self.idle_timeout,
            max_connections_per_address: self.max_connections_per_address as usize,
            max_connections: self.max_connections as usize,
            shutdown_grace: self.shutdown_grace,
        }
    }
}

/// A duration in seconds, decimals allowed (`0.5`), from 0.001 s to one day.
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.001..=86_400.0).contains(&value) {
        return Err(format!("{text} s is outside 0.001–86400 s"));
    }
    Ok(Duration::from_secs_f64(value))
}

pub fn run(store_args: &StoreArgs, args: &ServeArgs) -> Result<(), CliError> {
    let addr = resolve(&args.listen)?;
    let options = args.options();
    let store = open(store_args)?;
    let cannot_listen = |e: std::io::Error| CliError::new(format!("cannot listen on {addr}: {e}"));
    let listener = server::bind(addr).map_err(cannot_listen)?;
    let local = listener.local_addr().map_err(cannot_listen)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the runtime: {e}")))?;
    // Signal handlers first: from the moment the address is announced, SIGINT and SIGTERM
    // mean a graceful stop.
    let shutdown = {
        let _context = runtime.enter();
        server::shutdown_signal()
            .map_err(|e| CliError::new(format!("cannot install signal handlers: {e}")))?
    };
    if store.list_organizations()?.is_empty() {
        let boot = store.create_organization("Default")?;
        print_first_run(&boot, local)?;
    }
    let log = server::stderr_log();
    // The connection caps, not the descriptor limit, are to decide what is refused.
    let _ = server::raise_open_files_limit();
    log.line(&format!(
        "opcore: serving {} on http://{local}",
        store.path().display()
    ));
    if !local.ip().is_loopback() {
        log.line(&format!(
            "opcore: warning: {local} is reachable from other machines and opcore speaks \
             plain HTTP; put a TLS-terminating proxy in front of it"
        ));
    }
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(cannot_listen)?;
        let purger = tokio::spawn(purge_periodically(store.clone(), log.clone()));
        let served = server::serve_with(listener, store, log.clone(), options, shutdown).await;
        purger.abort();
        served.map_err(|e| CliError::new(format!("server failed: {e}")))?;
        log.line("opcore: stopped");
        Ok(())
    });
    // Blocking work still running after the grace (at most one request's) is not waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// `127.0.0.1:3333`, `[::1]:3333` or `localhost:3333`.
fn resolve(listen: &str) -> Result<SocketAddr, CliError> {
    let invalid = |why: String| {
        CliError::new(format!(
            "invalid --listen address `{listen}`: {why} (expected HOST:PORT, e.g. {})",
            server::DEFAULT_LISTEN
        ))
    };
    if let Ok(addr) = listen.parse() {
        return Ok(addr);
    }
    listen
        .to_socket_addrs()
        .map_err(|e| invalid(e.to_string()))?
        .next()
        .ok_or_else(|| invalid("it resolves to no address".into()))
}

/// The first-run message: the new root client's credentials (shown only here) and a request
/// to paste.
fn print_first_run(boot: &Bootstrap, local: SocketAddr) -> Result<(), CliError> {
    let host = if local.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), local.port())
    } else {
        local
    };
    let id = &boot.client.client.id;
    let secret = boot.client.secret.expose();
    let text = format!(
        "Created organization \"{name}\" (id `{org}`) and its root client.\n\
         Save the secret now: it is shown only this once.\n\
         \n\
         \x20 openpanel-client-id: {id}\n\
         \x20 openpanel-client-secret: {secret}\n\
         \n\
         Try it:\n\
         \x20 curl 'http://{host}/manage/projects' \\\n\
         \x20   -H 'openpanel-client-id: {id}' \\\n\
         \x20   -H 'openpanel-client-secret: {secret}'\n",
        name = boot.organization.name,
        org = boot.organization.id,
    );
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(format!("cannot write to standard output: {e}")))
}

async fn purge_periodically(store: Store, log: LogSink) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    tick.tick().await; // the store was purged when it was opened
    loop {
        tick.tick().await;
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.purge()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => log.line(&format!(
                "opcore: purged {n} project(s) past their deletion time"
            )),
            Ok(Err(e)) => log.line(&format!("opcore: error: purge failed: {e}")),
            Err(e) => log.line(&format!("opcore: error: purge failed: {e}")),
        }
    }
}
