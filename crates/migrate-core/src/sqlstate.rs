//! The SQLSTATE codes the engine acts on, by name (PostgreSQL's Appendix A), so that each
//! decision reads as what it means rather than as five characters.

/// A lock wait gave up (`lock_timeout`): the only error worth retrying as it is.
pub const LOCK_NOT_AVAILABLE: &str = "55P03";
/// The message did not parse (the raw parser's errors are of this class): nothing of it ran.
pub const SYNTAX_ERROR: &str = "42601";
/// A statement was cancelled: `statement_timeout`, or `pg_cancel_backend` on an interruption.
pub const QUERY_CANCELED: &str = "57014";
/// The transaction failed earlier and ignores commands until it is rolled back.
pub const IN_FAILED_TRANSACTION: &str = "25P02";
/// Wrong password, or no such role.
pub const INVALID_PASSWORD: &str = "28P01";
/// Refused by `pg_hba.conf`, among others.
pub const INVALID_AUTHORIZATION: &str = "28000";
/// No such database.
pub const INVALID_CATALOG_NAME: &str = "3D000";
/// The server is starting up.
pub const CANNOT_CONNECT_NOW: &str = "57P03";
/// The server is shutting down.
pub const ADMIN_SHUTDOWN: &str = "57P01";
/// `max_connections` reached.
pub const TOO_MANY_CONNECTIONS: &str = "53300";
