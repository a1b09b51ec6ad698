//! Opens `./opcore.db`, bootstraps an organization, creates a project and prints both as JSON.
//!
//! `cargo run --example quickstart`

use opcore::{NewProject, Options, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::open("opcore.db", Options::default())?;
    let boot = store.create_organization("Quickstart")?;
    println!("{}", serde_json::to_string_pretty(&boot)?);
    let project = store.create_project(
        &boot.organization.id,
        &NewProject {
            name: "My Project".into(),
            domain: Some("https://example.com".into()),
            cors: vec!["https://example.com".into()],
            types: vec!["website".into()],
            ..NewProject::default()
        },
    )?;
    println!("{}", serde_json::to_string_pretty(&project)?);
    Ok(())
}
