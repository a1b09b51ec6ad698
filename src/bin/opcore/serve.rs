//! `opcore serve`: bind, bootstrap a `Default` organization on first run, serve until
//! SIGINT/SIGTERM.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use clap::Args;
use opcore::server::{self, LogSink};
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
}

pub fn run(store_args: &StoreArgs, args: &ServeArgs) -> Result<(), CliError> {
    let addr = resolve(&args.listen)?;
    let store = open(store_args)?;
    let cannot_listen = |e: std::io::Error| CliError::new(format!("cannot listen on {addr}: {e}"));
    let listener = std::net::TcpListener::bind(addr).map_err(cannot_listen)?;
    listener.set_nonblocking(true).map_err(cannot_listen)?;
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
    log(&format!(
        "opcore: serving {} on http://{local}",
        store.path().display()
    ));
    if !local.ip().is_loopback() {
        log(&format!(
            "opcore: warning: {local} is reachable from other machines and opcore speaks \
             plain HTTP; put a TLS-terminating proxy in front of it"
        ));
    }
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(cannot_listen)?;
        let purger = tokio::spawn(purge_periodically(store.clone(), log.clone()));
        let served = server::serve(listener, store, log.clone(), shutdown).await;
        purger.abort();
        served.map_err(|e| CliError::new(format!("server failed: {e}")))?;
        log("opcore: stopped");
        Ok(())
    })
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
            Ok(Ok(n)) => log(&format!(
                "opcore: purged {n} project(s) past their deletion time"
            )),
            Ok(Err(e)) => log(&format!("opcore: error: purge failed: {e}")),
            Err(e) => log(&format!("opcore: error: purge failed: {e}")),
        }
    }
}
