//! The deployment files in `deploy/`: the systemd unit verifies with `systemd-analyze`, and the
//! Dockerfile, the compose file and the unit name only settings, packages and commands that
//! exist. No Docker engine runs on the build machines, so the image itself is not built here
//! (`docker build -f deploy/Dockerfile .` is the manual check).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The configuration's environment variables, as `deskmate config keys` lists them.
fn config_vars() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_deskmate"))
        .args(["config", "keys"])
        .env_remove("DESKMATE_CONFIG")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

/// Whether `var` is a configuration variable (or a secret's `_FILE` form, or a process switch
/// the binary reads).
fn known_var(vars: &BTreeSet<String>, var: &str) -> bool {
    vars.contains(var)
        || var.strip_suffix("_FILE").is_some_and(|v| {
            vars.contains(v)
                && ["TOKEN", "KEY", "SECRET", "PASSWORD"]
                    .iter()
                    .any(|m| v.contains(m))
        })
        || ["DESKMATE_CONFIG", "OMP_THREAD_LIMIT", "DESKMATE_MODELS_DIR"].contains(&var)
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let unit = read("deploy/deskmate.service");
    // systemd-analyze checks the binary exists: point it at the one under test.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("deskmate.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/deskmate", env!("CARGO_BIN_EXE_deskmate")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap_or_else(|e| {
            panic!("systemd-analyze is needed to verify the unit ({e}): apt-get install systemd")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    for option in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "StateDirectory=deskmate",
        "User=deskmate",
    ] {
        assert!(unit.lines().any(|l| l == option), "missing {option}");
    }
    let vars = config_vars();
    for line in unit
        .lines()
        .filter_map(|l| l.trim_start_matches("# ").strip_prefix("Environment="))
    {
        let var = line.split('=').next().unwrap();
        assert!(known_var(&vars, var), "the unit sets unknown {var}");
    }
}

#[test]
fn the_dockerfile_and_compose_file_name_what_exists() {
    let docker = read("deploy/Dockerfile");
    let x = read("x");
    // The runtime image installs every package ./x installs to run.
    let apt_run = x
        .lines()
        .find_map(|l| l.strip_prefix("APT_RUN=("))
        .and_then(|l| l.strip_suffix(')'))
        .expect("APT_RUN in ./x");
    let runtime = docker.rsplit("FROM debian:bookworm-slim").next().unwrap();
    for pkg in apt_run.split_whitespace() {
        assert!(runtime.contains(pkg), "the runtime image lacks {pkg}");
    }
    let apt_build = x
        .lines()
        .find_map(|l| l.strip_prefix("APT_BUILD=("))
        .and_then(|l| l.strip_suffix(')'))
        .expect("APT_BUILD in ./x");
    for pkg in apt_build.split_whitespace() {
        assert!(docker.contains(pkg), "the build stage lacks {pkg}");
    }
    let vars = config_vars();
    let mut set = 0;
    for line in docker.lines().chain(read("deploy/compose.yaml").lines()) {
        let t = line
            .trim()
            .trim_start_matches("# ")
            .trim_start_matches("ENV ");
        for part in t.split_whitespace() {
            let name = part
                .split(['=', ':'])
                .next()
                .unwrap()
                .trim_matches(|c| c == '"' || c == '\\');
            if name.starts_with("DESKMATE_") && !name.ends_with('*') {
                assert!(known_var(&vars, name), "unknown variable {name} in: {line}");
                set += 1;
            }
        }
    }
    assert!(
        set >= 4,
        "the files set the bind address, data and models dirs"
    );
    // The commands they run exist.
    for cmd in ["serve", "up", "models"] {
        let out = Command::new(env!("CARGO_BIN_EXE_deskmate"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "deskmate {cmd}");
    }
    assert!(docker.contains(r#"CMD ["serve"]"#));
    assert!(read("deploy/compose.yaml").contains(r#"command: ["up"]"#));
    // The build context leaves the target dir out.
    assert!(read(".dockerignore").lines().any(|l| l == "target"));
}
