//! Managed PostgreSQL requires TLS: `sslmode=verify-full` with `sslrootcert` works for
//! `migrate`, the api and the worker (the schema gate's LISTEN connection included), against a
//! server this test sets up with a certificate authority of its own. A wrong CA or host name is
//! refused at once, in one line that names the setting to fix and no password.

use std::time::Instant;

use sqlx::{Connection, PgConnection};
use test_support::{PATIENCE, run, spawned::Spawned, tls::TlsServer};

use crate::{API, WORKER, migrate_at};

#[tokio::test]
async fn verify_full_works_and_a_wrong_ca_or_host_is_refused_at_once() {
    let server = TlsServer::start();
    let url = server.url("localhost", "postgres", &server.ca);

    // The connection really is encrypted, and verified.
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(encrypted);

    // The api waits on its LISTEN connection, over TLS, and wakes when migrate has run.
    // It would look again only in an hour: only migrate's notification can wake it.
    let mut api = API.command();
    api.env("DATABASE_URL", &url)
        .env("SCHEMA_POLL_INTERVAL", "1h")
        .args(["--listen", "127.0.0.1:0"]);
    let api = Spawned::listening(&mut api);
    api.wait_for_log("schema: waiting for `migrate up`").await;
    run(migrate_at(&url, None).arg("up")).assert_code(0);
    api.wait_until_ready().await;
    let mut worker = WORKER.command();
    worker
        .env("DATABASE_URL", &url)
        .args(["--listen", "127.0.0.1:0"]);
    Spawned::listening(&mut worker).wait_until_ready().await;

    let wrong_ca = server.url("localhost", "postgres", &server.other_ca);
    let wrong_host = server.url("127.0.0.1", "postgres", &server.ca);
    for (url, setting) in [
        (&wrong_ca, "set sslrootcert in"),
        (&wrong_host, "is not valid for the host \"127.0.0.1\""),
    ] {
        // Retried, each would wait ten minutes; refused at once, none waits at all.
        let started = Instant::now();
        let refused = run(migrate_at(url, None).args(["status", "--connect-timeout", "10m"]));
        refused.assert_code(1);
        assert_eq!(refused.errors().len(), 1, "{}", refused.stderr);
        refused.assert_stderr_contains(setting);
        refused.assert_stderr_contains("MIGRATION_DATABASE_URL");
        assert!(
            !refused.stderr.contains("cannot reach"),
            "not retried as unreachable:\n{}",
            refused.stderr
        );
        assert!(
            !refused.stderr.contains("tls-secret-pw"),
            "{}",
            refused.stderr
        );
        for binary in [API, WORKER] {
            let refused = run(binary
                .command()
                .env("DATABASE_URL", url)
                .env("SCHEMA_WAIT_TIMEOUT", "10m")
                .args(["--listen", "127.0.0.1:0"]));
            refused.assert_code(1);
            refused.assert_stderr_contains(setting);
            refused.assert_stderr_contains("DATABASE_URL");
            assert!(
                !refused.stderr.contains("tls-secret-pw"),
                "{}",
                refused.stderr
            );
        }
        assert!(
            started.elapsed() < PATIENCE,
            "refused at once: {:?}",
            started.elapsed()
        );
    }
}
