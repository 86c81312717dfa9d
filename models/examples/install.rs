//! Installs catalog models into the model cache: `cargo run -p models --example install --
//! [--fixtures] [NAME…]`. The `deskmate models install` command does the same; this example
//! lets the crate be set up on its own.

fn main() -> Result<(), models::ModelError> {
    let mut names: Vec<String> = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--fixtures" {
            names.extend(
                models::install::fixture_names()
                    .into_iter()
                    .map(String::from),
            );
        } else {
            names.push(a);
        }
    }
    let store = models::ModelStore::from_env();
    let opts = models::install::InstallOptions::default();
    for n in names {
        let (e, outcome) = models::install::install(&store, &n, &opts, &mut |l| eprintln!("{l}"))?;
        println!("{} {:?} in {}", e.manifest.name, outcome, e.dir.display());
    }
    Ok(())
}
