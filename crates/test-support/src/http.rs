//! A minimal HTTP/1.1 client, and a handle on a spawned api or worker that keeps its log lines.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

pub use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<Response> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {raw}")))?;
    Ok(Response {
        status,
        body: body.to_owned(),
    })
}

/// A running api or worker; killed on drop. Its log lines are kept for assertions.
pub struct AppProcess {
    pub child: Child,
    pub addr: Option<SocketAddr>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl AppProcess {
    /// Starts `command` and, when `listens`, waits for its "listening on http://ADDR" line.
    pub fn start(mut command: Command, listens: bool) -> Self {
        let mut child = command
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on http://").nth(1) {
                    let addr = addr.split_whitespace().next().unwrap_or_default();
                    let _ = addr_tx.send(addr.parse::<SocketAddr>().ok());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = if listens {
            match addr_rx.recv_timeout(Duration::from_secs(30)) {
                Ok(addr) => addr,
                Err(_) => panic!(
                    "no `listening on` line; logs:\n{}",
                    logs.lock().unwrap().join("\n")
                ),
            }
        } else {
            None
        };
        Self { child, addr, logs }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("this process listens")
    }

    /// Waits until `/ready` answers 200; returns how long that took.
    pub async fn wait_until_ready(&self, within: Duration) -> Duration {
        let started = std::time::Instant::now();
        loop {
            if request(self.addr(), "GET", "/ready", None)
                .await
                .is_ok_and(|r| r.status == 200)
            {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "not ready after {within:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        signal(&self.child, Signal::SIGTERM);
        self.child.wait().unwrap().code()
    }
}

/// Sends `signal` to `child` (`kill -9` is [`Signal::SIGKILL`]).
pub fn signal(child: &Child, signal: Signal) {
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits an i32"));
    nix::sys::signal::kill(pid, signal).expect("the process can be signalled");
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
