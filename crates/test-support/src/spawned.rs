//! A binary left running while the test acts around it: its log is kept line by line, and the
//! test waits for what the process says or does, never for a length of time.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Condvar, Mutex},
    thread::JoinHandle,
    time::{Duration, Instant},
};

pub use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::{PATIENCE, http::request};

/// A running process; killed on drop.
pub struct Spawned {
    child: Mutex<Child>,
    addr: Option<SocketAddr>,
    log: Arc<Log>,
    reader: Option<JoinHandle<()>>,
}

/// Its stderr so far, and whether the pipe has closed.
#[derive(Default)]
struct Log {
    state: Mutex<(Vec<String>, bool)>,
    grew: Condvar,
}

impl Spawned {
    /// Starts `command`, keeping its stderr.
    pub fn start(command: &mut Command) -> Self {
        let mut child = command
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Log::default());
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.state.lock().unwrap().0.push(line);
                sink.grew.notify_all();
            }
            sink.state.lock().unwrap().1 = true;
            sink.grew.notify_all();
        });
        Self {
            child: Mutex::new(child),
            addr: None,
            log,
            reader: Some(reader),
        }
    }

    /// Starts an api or worker and waits for its `listening on http://ADDR` line.
    pub fn listening(command: &mut Command) -> Self {
        let mut spawned = Self::start(command);
        let line = spawned.wait_for_line("listening on http://");
        let addr = line
            .split("listening on http://")
            .nth(1)
            // Plain text, or inside a JSON string (LOG_FORMAT=json).
            .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '"').next())
            .and_then(|addr| addr.parse().ok());
        spawned.addr = Some(addr.unwrap_or_else(|| panic!("no address in {line:?}")));
        spawned
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("started with Spawned::listening")
    }

    pub fn id(&self) -> u32 {
        self.child.lock().unwrap().id()
    }

    /// Everything it has logged so far.
    pub fn logs(&self) -> String {
        self.log.state.lock().unwrap().0.join("\n")
    }

    /// Blocks until a line containing `text` is logged, and returns it; fails when the process
    /// closes its log first, or after [`PATIENCE`].
    pub fn wait_for_line(&self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut state = self.log.state.lock().unwrap();
        loop {
            if let Some(line) = state.0.iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            let now = Instant::now();
            assert!(
                !state.1 && now < deadline,
                "never logged {text:?}{}:\n{}",
                if state.1 { " before exiting" } else { "" },
                state.0.join("\n")
            );
            state = self.log.grew.wait_timeout(state, deadline - now).unwrap().0;
        }
    }

    /// [`Spawned::wait_for_line`] without blocking the test's runtime.
    pub async fn wait_for_log(&self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            {
                let state = self.log.state.lock().unwrap();
                if let Some(line) = state.0.iter().find(|l| l.contains(text)) {
                    return line.clone();
                }
                assert!(
                    !state.1 && Instant::now() < deadline,
                    "never logged {text:?}:\n{}",
                    state.0.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until `/ready` answers 200; returns how long that took.
    pub async fn wait_until_ready(&self) -> Duration {
        let started = Instant::now();
        loop {
            if request(self.addr(), "GET", "/ready", None)
                .await
                .is_ok_and(|r| r.status == 200)
            {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "not ready after {PATIENCE:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether it is still running.
    pub fn is_running(&self) -> bool {
        self.child.lock().unwrap().try_wait().unwrap().is_none()
    }

    /// Waits for it to exit, and for the last of its log; returns its exit code (`None`
    /// when a signal ended it).
    pub fn wait(&mut self) -> Option<i32> {
        let code = self.child.get_mut().unwrap().wait().unwrap().code();
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the log reader ends with the pipe");
        }
        code
    }

    /// [`Spawned::wait`] without blocking the test's runtime (where a task of the test's
    /// must go on meanwhile).
    pub async fn finished(&mut self) -> Option<i32> {
        while self.is_running() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.wait()
    }

    /// Sends `signal` (`kill -9` is [`Signal::SIGKILL`]).
    pub fn signal(&self, signal: Signal) {
        send(&self.child.lock().unwrap(), signal);
    }

    /// Sends SIGTERM and returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        self.signal(Signal::SIGTERM);
        self.wait()
    }
}

/// Sends `signal` to `child`.
pub fn send(child: &Child, signal: Signal) {
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits an i32"));
    nix::sys::signal::kill(pid, signal).expect("the process can be signalled");
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}
