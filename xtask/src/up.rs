//! `cargo xtask up`: the database, the migrations, then the api and the workers in the
//! foreground, every output line prefixed with the process it came from. Ctrl-C (or SIGTERM)
//! stops them all; if one of them dies, the others are stopped too.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use pg_cluster::process;
use xshell::Shell;

use crate::{db::DevDatabase, flags, migrate_bin};

const STOP_GRACE: Duration = Duration::from_secs(15);

enum Event {
    StopRequested,
    Exited {
        name: String,
        status: std::process::ExitStatus,
    },
}

impl flags::Up {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let db = DevDatabase::ensure()?;
        migrate_bin::run(sh, &db, &["up"])?;

        let (events, inbox) = mpsc::channel();
        let stop = events.clone();
        ctrlc::set_handler(move || {
            let _ = stop.send(Event::StopRequested);
        })
        .context("cannot handle Ctrl-C")?;

        let mut processes = vec![(
            "api".to_owned(),
            Command::new(migrate_bin::app_binary("debug", "api")),
        )];
        for i in 1..=self.workers.unwrap_or(2) {
            let mut worker = Command::new(migrate_bin::app_binary("debug", "worker"));
            worker.args([
                "--id",
                &format!("dev-worker-{i}"),
                "--listen",
                "127.0.0.1:0",
            ]);
            processes.push((format!("worker-{i}"), worker));
        }
        let mut running: Vec<(String, u32)> = Vec::new();
        for (name, mut command) in processes {
            command
                .env("DATABASE_URL", db.runtime.to_string())
                .env_remove("MIGRATION_DATABASE_URL");
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            let child = process::spawn(command).with_context(|| format!("cannot start {name}"))?;
            running.push((name.clone(), child.id()));
            supervise(name, child, events.clone());
        }
        eprintln!("api on http://127.0.0.1:8080 (APP_LISTEN changes it); Ctrl-C stops everything");

        let mut failure = None;
        match inbox.recv()? {
            Event::StopRequested => eprintln!("stopping..."),
            Event::Exited { name, status } => {
                running.retain(|(n, _)| *n != name);
                failure = Some(format!("{name} exited ({status}); stopped the others"));
            }
        }
        for (_, pid) in &running {
            signal(*pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while !running.is_empty() {
            match inbox.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Event::Exited { name, .. }) => running.retain(|(n, _)| *n != name),
                Ok(Event::StopRequested) => {}
                Err(_) => {
                    for (name, pid) in running.drain(..) {
                        eprintln!("{name} did not stop within {STOP_GRACE:?}; killing it");
                        signal(pid, Signal::SIGKILL);
                    }
                }
            }
        }
        match failure {
            Some(message) => bail!(message),
            None => Ok(()),
        }
    }
}

/// Sends `signal` to a child that may have exited already.
fn signal(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// Prefixes the child's output and reports its exit.
fn supervise(name: String, mut child: Child, events: mpsc::Sender<Event>) {
    let pipes: Vec<Box<dyn Read + Send>> = vec![
        Box::new(child.stdout.take().expect("piped")),
        Box::new(child.stderr.take().expect("piped")),
    ];
    let printers: Vec<_> = pipes
        .into_iter()
        .map(|pipe| {
            let name = name.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    eprintln!("{name:>9} | {line}");
                }
            })
        })
        .collect();
    thread::spawn(move || {
        let status = child.wait();
        for printer in printers {
            let _ = printer.join();
        }
        if let Ok(status) = status {
            let _ = events.send(Event::Exited { name, status });
        }
    });
}
