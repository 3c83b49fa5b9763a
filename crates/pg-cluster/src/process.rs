//! Every child process of the tooling goes through here: the command is printed before it
//! runs, with the connection it gets through its environment shown without passwords, and an
//! argument that looks like it holds a secret is refused (secrets travel in the environment).

use std::{
    io::Write,
    process::{Child, Command, Output, Stdio},
};

use anyhow::{Context, bail};
use migrate_core::redact::redact_url;

/// Runs `command` with the terminal as its output; fails unless it exits 0.
pub fn run(command: impl Into<Command>) -> anyhow::Result<()> {
    let mut command = command.into();
    let shown = prepare(&mut command)?;
    let status = command
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `command` and returns its standard output; fails, with its standard error, unless it
/// exits 0.
pub fn read(command: impl Into<Command>) -> anyhow::Result<String> {
    let output = check(output(command)?, "it")?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `output` when its process exited 0, else an error saying `what` failed, with what it said.
pub fn check(output: Output, what: &str) -> anyhow::Result<Output> {
    if output.status.success() {
        return Ok(output);
    }
    bail!(
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim_end()
    )
}

/// Runs `command`, capturing both outputs, whatever its exit status.
pub fn output(command: impl Into<Command>) -> anyhow::Result<Output> {
    let mut command = command.into();
    let shown = prepare(&mut command)?;
    command.stdin(Stdio::null());
    command
        .output()
        .with_context(|| format!("cannot run {shown}"))
}

/// Whether `command` runs and exits 0 (its output discarded): a probe.
pub fn succeeds(command: impl Into<Command>) -> bool {
    output(command).is_ok_and(|o| o.status.success())
}

/// Starts `command` and returns it running, for a caller that watches it.
pub fn spawn(command: impl Into<Command>) -> anyhow::Result<Child> {
    let mut command = command.into();
    let shown = prepare(&mut command)?;
    command
        .spawn()
        .with_context(|| format!("cannot run {shown}"))
}

/// Runs `command` with `input` on its standard input, capturing both outputs, whatever its
/// exit status.
pub fn pipe(command: impl Into<Command>, input: &str) -> anyhow::Result<Output> {
    let mut command = command.into();
    let shown = prepare(&mut command)?;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {shown}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = input.to_owned();
    // Written from a thread, so that a child that answers before reading everything cannot block us.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output()?;
    let _ = writer.join();
    Ok(output)
}

/// Prints `$ program args  (connection)` and returns the command line; refuses secrets in argv.
///
/// Also clears the variables cargo sets for the program it runs (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...): a nested cargo would see them in build scripts' fingerprints (ring's
/// does) and rebuild dependencies that a cargo started from a shell had already built.
fn prepare(command: &mut Command) -> anyhow::Result<String> {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*key,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
            )
        {
            command.env_remove(&*key);
        }
    }
    let words: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy().into_owned())
        .collect();
    if let Some(secret) = words
        .iter()
        .find(|w| redact_url(w) != **w && w.contains("://"))
    {
        bail!(
            "refusing to put a password on a command line: {}",
            redact_url(secret)
        );
    }
    let line = words.join(" ");
    let env: Vec<String> = command
        .get_envs()
        .filter_map(|(key, value)| Some((key.to_str()?, value?.to_str()?)))
        .filter_map(|(key, value)| match key {
            "PGPASSWORD" => Some(format!("{key}=***")),
            "PGHOST" | "PGPORT" | "PGUSER" | "PGDATABASE" | "PGSSLMODE" => {
                Some(format!("{key}={value}"))
            }
            _ if key.ends_with("DATABASE_URL") => Some(format!("{key}={}", redact_url(value))),
            _ => None,
        })
        .collect();
    if env.is_empty() {
        eprintln!("$ {line}");
    } else {
        eprintln!("$ {line}  ({})", env.join(" "));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_the_log_and_off_the_command_line() {
        let mut command = Command::new("psql");
        command
            .arg("-c")
            .arg("SELECT 1")
            .env("PGPASSWORD", "hunter2")
            .env("DATABASE_URL", "postgres://app:hunter2@db/app");
        let line = prepare(&mut command).unwrap();
        assert_eq!(line, "psql -c SELECT 1");
        let mut leaky = Command::new("psql");
        leaky.arg("postgres://app:hunter2@db/app");
        let refused = prepare(&mut leaky).unwrap_err().to_string();
        assert!(
            refused.contains("refusing") && !refused.contains("hunter2"),
            "{refused}"
        );
    }
}
