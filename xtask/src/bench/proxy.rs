//! A TCP proxy that delays each direction by half a round trip, as a network between regions
//! would, and counts the round trips that cross it: a turn is the client speaking again after
//! the server has answered. Threads and channels only (no runtime in xtask); the link has
//! latency and no bandwidth limit, so bytes in flight overlap as they would on a real one.

use std::{
    io::{self, Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

/// Who spoke last on a connection.
const NOBODY: u8 = 0;
const CLIENT: u8 = 1;
const SERVER: u8 = 2;

/// A running proxy on 127.0.0.1; stopped on drop.
pub struct DelayProxy {
    pub port: u16,
    turns: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl DelayProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target`, each direction delayed by
    /// half of `round_trip`.
    pub fn start(target: SocketAddr, round_trip: Duration) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let turns = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counted, stopped) = (turns.clone(), stop.clone());
        thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if let Err(e) = forward(client, target, round_trip / 2, &counted) {
                            eprintln!("bench proxy: cannot reach {target}: {e}");
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => eprintln!("bench proxy: accept failed: {e}"),
                }
            }
        });
        Ok(Self { port, turns, stop })
    }

    /// Round trips since the last call.
    pub fn take_round_trips(&self) -> u64 {
        self.turns.swap(0, Ordering::Relaxed)
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Connects to `target` and pipes both ways, each with `delay`.
fn forward(
    client: TcpStream,
    target: SocketAddr,
    delay: Duration,
    turns: &Arc<AtomicU64>,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_nodelay(true)?;
    let server = TcpStream::connect(target)?;
    server.set_nodelay(true)?;
    let last = Arc::new(AtomicU8::new(NOBODY));
    pipe(
        client.try_clone()?,
        server.try_clone()?,
        delay,
        CLIENT,
        &last,
        turns.clone(),
    );
    pipe(server, client, delay, SERVER, &last, turns.clone());
    Ok(())
}

/// Copies `from` to `to`, each chunk sent `delay` after it arrived; `side` is who writes into
/// `from`, for counting turns.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    delay: Duration,
    side: u8,
    last: &Arc<AtomicU8>,
    turns: Arc<AtomicU64>,
) {
    let (send, receive) = mpsc::channel::<(Instant, Vec<u8>)>();
    let last = last.clone();
    thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            if side == CLIENT && last.swap(CLIENT, Ordering::Relaxed) != CLIENT {
                turns.fetch_add(1, Ordering::Relaxed);
            } else if side == SERVER {
                last.store(SERVER, Ordering::Relaxed);
            }
            if send
                .send((Instant::now() + delay, buffer[..read].to_vec()))
                .is_err()
            {
                break;
            }
        }
    });
    thread::spawn(move || {
        for (due, chunk) in receive {
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
