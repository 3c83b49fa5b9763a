//! PostgreSQL's own programs, for the tooling and the tests: throwaway clusters started from
//! the installed server binaries ([`Cluster`]), run as an unprivileged user when we are root
//! ([`Owner`]), and every child process logged before it runs ([`process`]).

mod binaries;
mod cluster;
mod owner;
pub mod process;

pub use binaries::{PG_BIN, PG_CLIENTS, find_client, find_pgbouncer, find_server_binaries};
pub use cluster::{Cluster, StopMode};
pub use owner::Owner;
