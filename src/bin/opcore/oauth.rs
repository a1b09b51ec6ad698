//! `opcore oauth authorize`: the host's consent step (docs/oauth.md) from the command line,
//! for scripts and tests that have no consent page of their own. It issues an authorization
//! code exactly as `Store::authorize` does and prints the redirect URL.

use clap::Subcommand;
use opcore::{AuthorizeError, AuthorizeRequest, Store};

use crate::{print_json, CliError};

#[derive(Subcommand)]
pub enum OAuthCommand {
    /// Issue an authorization code for a user who consented: prints {"redirectUrl": …}, the
    /// client's redirect URI carrying `code` and `state`.
    Authorize {
        /// The client the user consented to.
        #[arg(long)]
        client_id: String,
        /// One of the client's registered redirect URIs, exactly.
        #[arg(long)]
        redirect_uri: String,
        /// The PKCE code challenge: base64url(SHA-256(code_verifier)), 43 characters.
        #[arg(long)]
        code_challenge: String,
        /// Only S256 is accepted.
        #[arg(long, default_value = "S256")]
        code_challenge_method: String,
        /// Space-separated scopes (default: all the client's type allows).
        #[arg(long)]
        scope: Option<String>,
        /// Returned unchanged in the redirect.
        #[arg(long)]
        state: Option<String>,
        /// The user the host authenticated (1 to 255 characters).
        #[arg(long)]
        subject: String,
    },
}

pub fn oauth(store: &Store, cmd: OAuthCommand) -> Result<(), CliError> {
    match cmd {
        OAuthCommand::Authorize {
            client_id,
            redirect_uri,
            code_challenge,
            code_challenge_method,
            scope,
            state,
            subject,
        } => {
            let request = AuthorizeRequest {
                client_id: &client_id,
                redirect_uri: &redirect_uri,
                scope: scope.as_deref(),
                code_challenge: &code_challenge,
                code_challenge_method: &code_challenge_method,
                state: state.as_deref(),
                subject: &subject,
            };
            match store.authorize(&request) {
                Ok(url) => print_json(&serde_json::json!({ "redirectUrl": url })),
                Err(AuthorizeError::Refused {
                    error,
                    description,
                    redirect_url,
                }) => Err(CliError::new(format!(
                    "{error}: {description} (the client app is told through {redirect_url})"
                ))),
                Err(AuthorizeError::Storage(e)) => Err(e.into()),
                Err(e) => Err(CliError::new(e.to_string())),
            }
        }
    }
}
