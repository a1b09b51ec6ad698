//! The `opcore` command-line program: create a store and its first organization (`init`),
//! serve the Manage API over HTTP (`serve`), purge projects past their deletion time
//! (`purge`), administer organizations, projects, clients and references directly on the
//! store file and read an organization's audit log (`audit`), printing JSON, and copy an
//! SQLite store into PostgreSQL (`migrate`, feature `postgres`).

#[path = "opcore/admin.rs"]
mod admin;
#[path = "opcore/oauth.rs"]
mod oauth;
#[cfg(feature = "server")]
#[path = "opcore/serve.rs"]
mod serve;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use opcore::{Clock, ManualClock, Options, Store, SystemClock, Timestamp};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "opcore",
    version,
    about = "Organizations, projects, API clients and references in one SQLite file, \
             with the Manage API served over HTTP",
    long_about = None,
    arg_required_else_help = true,
    after_help = "Start here:\n  \
                  opcore serve              serve ./opcore.db on http://127.0.0.1:3333 \
                  (on first run: creates the store and a `Default` organization)\n  \
                  opcore init --name Acme   create an organization and print its root \
                  client's secret\n  \
                  opcore migrate --from opcore.db --to postgres://…   copy the store into an \
                  empty PostgreSQL database"
)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the store lives and how it is opened (accepted before or after the subcommand).
#[derive(Args)]
struct StoreArgs {
    /// The store's SQLite file (created if absent).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "./opcore.db",
        global = true
    )]
    db: PathBuf,
    /// Store options as JSON, the keys of `opc_store_open`: argon2
    /// ({"m_cost", "t_cost", "p_cost"}), deletion_grace_seconds, synchronous ("full" |
    /// "normal"), rate_limits ({"manage": {"limit", "window_seconds"}, …}),
    /// cross_process_staleness_ms, audit_retention_days, OAuth's issuer, authorization_endpoint,
    /// refresh_reuse_grace_seconds and token lifetimes (docs/oauth.md), and the shared rate
    /// limits' rate_limit_url, rate_limit_on_outage, rate_limit_key_prefix (docs/scale-out.md).
    #[arg(long, value_name = "JSON", global = true)]
    options: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create an organization and its first root client; print both as JSON (the client's
    /// secret appears only in this output).
    Init {
        /// The organization's name; its id is derived from it (`Acme Inc` → `acme-inc`).
        #[arg(long)]
        name: String,
    },
    /// Serve the Manage API (/manage/… and /api/manage/…) over HTTP until SIGINT or SIGTERM.
    ///
    /// On first run (no organization in the store) it creates one named `Default` and prints
    /// its root client id and secret once.
    #[cfg(feature = "server")]
    Serve(serve::ServeArgs),
    /// Remove projects past their deletion time, with their clients and references, and audit
    /// entries older than audit_retention_days; print {"purged": N} (projects).
    Purge,
    /// List or show organizations.
    #[command(subcommand, visible_alias = "orgs")]
    Organizations(admin::OrganizationCommand),
    /// List, show, create or delete projects of an organization.
    Projects(admin::Scoped<admin::ProjectCommand>),
    /// List, show, create or delete API clients of an organization.
    Clients(admin::Scoped<admin::ClientCommand>),
    /// List, show, create or delete references of an organization's projects.
    References(admin::Scoped<admin::ReferenceCommand>),
    /// OAuth 2.0: issue an authorization code for a consenting user (`authorize`).
    #[command(subcommand)]
    Oauth(oauth::OAuthCommand),
    /// Print an organization's audit log, newest first, as GET /manage/audit returns it:
    /// {"data": [...], "nextCursor": ...}.
    Audit(admin::AuditArgs),
    /// Copy an SQLite store into an empty PostgreSQL database, in one transaction; print the
    /// rows copied per table as JSON. Needs a build with the Cargo feature `postgres`.
    ///
    /// Everything is copied: organizations, projects (those scheduled for deletion too),
    /// clients with their secret hashes and rotation state, references, OAuth codes, grants
    /// and tokens, the issued ids, the audit log and the store's revisions and check key, so
    /// every client keeps its secret and no id is issued twice. The source file is opened
    /// read-only; a target that is not empty is refused and left as it was
    /// (docs/scale-out.md#migrating-from-sqlite).
    Migrate(MigrateArgs),
}

/// `opcore migrate --from FILE --to URL`.
#[derive(Args)]
struct MigrateArgs {
    /// The SQLite store to copy (opened read-only).
    #[arg(long, value_name = "PATH")]
    from: PathBuf,
    /// The empty PostgreSQL database to copy it into: a postgres:// or postgresql:// URL.
    #[arg(long, value_name = "URL")]
    to: String,
}

/// A failure reported to the user on standard error; the process exits with status 1.
#[derive(Debug)]
pub struct CliError(String);

impl CliError {
    pub fn new(message: impl Into<String>) -> Self {
        CliError(message.into())
    }
}

impl From<opcore::Error> for CliError {
    fn from(e: opcore::Error) -> Self {
        CliError(e.to_string())
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("opcore: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Init { name } => {
            let store = open(&cli.store)?;
            print_json(&store.create_organization(&name)?)
        }
        #[cfg(feature = "server")]
        Command::Serve(args) => serve::run(&cli.store, &args),
        Command::Purge => purge(&cli.store),
        Command::Organizations(cmd) => admin::organizations(&open_existing(&cli.store)?, cmd),
        Command::Projects(scoped) => {
            let store = open_existing(&cli.store)?;
            let org = admin::organization(&store, scoped.org.as_deref())?;
            admin::projects(&store, &org, scoped.command)
        }
        Command::Clients(scoped) => {
            let store = open_existing(&cli.store)?;
            let org = admin::organization(&store, scoped.org.as_deref())?;
            admin::clients(&store, &org, scoped.command)
        }
        Command::References(scoped) => {
            let store = open_existing(&cli.store)?;
            let org = admin::organization(&store, scoped.org.as_deref())?;
            admin::references(&store, &org, scoped.command)
        }
        Command::Oauth(cmd) => oauth::oauth(&open_existing(&cli.store)?, cmd),
        Command::Audit(args) => {
            let store = open_existing(&cli.store)?;
            let org = admin::organization(&store, args.org.as_deref())?;
            admin::audit(&store, &org, args)
        }
        Command::Migrate(args) => migrate(&args),
    }
}

/// `opcore migrate`: the copy itself is `opcore::migrate_sqlite_to_postgres`.
fn migrate(args: &MigrateArgs) -> Result<(), CliError> {
    if postgres_url(std::path::Path::new(&args.to)).is_none() {
        return Err(CliError::new(
            "--to must be a PostgreSQL URL (postgres://… or postgresql://…)",
        ));
    }
    if postgres_url(&args.from).is_some() {
        return Err(CliError::new(
            "--from must be an SQLite store file, not a PostgreSQL URL",
        ));
    }
    #[cfg(feature = "postgres")]
    {
        let summary = opcore::migrate_sqlite_to_postgres(&args.from, &args.to)?;
        print_json(&summary)
    }
    #[cfg(not(feature = "postgres"))]
    Err(CliError::new(
        "this opcore was built without PostgreSQL support; `opcore migrate` needs a build \
         with the Cargo feature `postgres` (cargo build --release --features postgres)",
    ))
}

fn options(args: &StoreArgs) -> Result<Options, CliError> {
    match &args.options {
        Some(json) => Ok(Options::from_json(json)?),
        None => Ok(Options::default()),
    }
}

fn open(args: &StoreArgs) -> Result<Store, CliError> {
    open_with(args, options(args)?)
}

/// Admin commands and `purge` work on a store that exists: a mistyped `--db` must not
/// silently create an empty one.
fn open_existing(args: &StoreArgs) -> Result<Store, CliError> {
    require_existing(args)?;
    open(args)
}

fn require_existing(args: &StoreArgs) -> Result<(), CliError> {
    // A PostgreSQL URL names a database, not a file (docs/scale-out.md): `open` refuses one
    // that is not an opcore store.
    if args.db.exists() || postgres_url(&args.db).is_some() {
        return Ok(());
    }
    Err(CliError::new(format!(
        "no store at {}; create one with `opcore init --db {} --name NAME`",
        args.db.display(),
        args.db.display()
    )))
}

/// The `postgres://` or `postgresql://` URL `--db` names, if it names one.
fn postgres_url(db: &std::path::Path) -> Option<&str> {
    let text = db.to_str()?;
    let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    (lower.starts_with("postgres://") || lower.starts_with("postgresql://")).then_some(text)
}

/// `--db` as messages show it: a URL without its password.
fn shown_db(db: &std::path::Path) -> String {
    match postgres_url(db) {
        None => db.display().to_string(),
        Some(url) => match url::Url::parse(url) {
            Ok(mut parsed) => {
                if parsed.password().is_some() {
                    let _ = parsed.set_password(Some("***"));
                }
                parsed.to_string()
            }
            Err(_) => "the PostgreSQL URL given".into(),
        },
    }
}

fn open_with(args: &StoreArgs, options: Options) -> Result<Store, CliError> {
    Store::open(&args.db, options)
        .map_err(|e| CliError::new(format!("{e} ({})", shown_db(&args.db))))
}

/// Opening a store already purges it, which would leave nothing to count. So the store is
/// opened with a clock stopped at the epoch (nothing is past its deletion time then), and the
/// purge runs after the clock is moved to the real time.
fn purge(args: &StoreArgs) -> Result<(), CliError> {
    let mut options = options(args)?;
    require_existing(args)?;
    let clock = ManualClock::new(Timestamp(0));
    options.clock = Arc::new(clock.clone());
    let store = open_with(args, options)?;
    clock.set(SystemClock.now());
    let purged = store.purge()?;
    print_json(&serde_json::json!({ "purged": purged }))
}

/// Prints one JSON document (pretty, newline-terminated) on standard output.
pub fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(format!("cannot render JSON: {e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(format!("cannot write to standard output: {e}")))
}
