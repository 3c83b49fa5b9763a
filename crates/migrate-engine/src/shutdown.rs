//! Stopping on request: SIGTERM (`docker stop`, Kubernetes, systemd) and SIGINT (Ctrl-C).
//!
//! The handlers go in first, before any connection: a process told to stop while it starts
//! then stops cleanly instead of dying of the signal. In a container it matters more: as PID 1
//! a process without a handler ignores SIGTERM, and is killed after the grace period.

use std::{io, sync::Arc};

use tokio::{
    signal::unix::{SignalKind, signal},
    sync::watch,
};

/// Whether, and by which signal, the process was asked to stop. Cheap to clone; every clone
/// sees the same request.
#[derive(Debug, Clone)]
pub struct Shutdown {
    requested: Arc<watch::Sender<Option<&'static str>>>,
}

impl Shutdown {
    /// Installs the SIGTERM and SIGINT handlers. Call it first thing, inside a tokio runtime:
    /// a signal that arrives from then on is kept until someone asks.
    pub fn install() -> io::Result<Self> {
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let shutdown = Self::manual();
        let tell = shutdown.clone();
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            tracing::info!("{name} received, stopping");
            tell.request(name);
        });
        Ok(shutdown)
    }

    /// One that only [`Shutdown::request`] triggers: for callers that handle signals themselves.
    pub fn manual() -> Self {
        Self {
            requested: Arc::new(watch::Sender::new(None)),
        }
    }

    /// Asks every holder to stop, as a signal would; `reason` names it in messages.
    pub fn request(&self, reason: &'static str) {
        self.requested.send_if_modified(|requested| {
            requested.get_or_insert(reason);
            true
        });
    }

    /// The signal that asked the process to stop, if one has.
    pub fn requested(&self) -> Option<&'static str> {
        *self.requested.borrow()
    }

    /// Resolves when the process is asked to stop, with the signal's name.
    pub async fn wait(&self) -> &'static str {
        let mut requested = self.requested.subscribe();
        let name = requested
            .wait_for(Option::is_some)
            .await
            .expect("the sender lives as long as self");
        name.expect("waited for Some")
    }
}
