//! The api and workers as real processes: jobs go in through HTTP and come out processed.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use crate::{API, WORKER, migrated};
use serde_json::{Value, json};
use test_support::{PATIENCE, TestDb, http::request, spawned::Spawned};

/// An api on a migrated database, ready to serve.
async fn api(db: &TestDb) -> Spawned {
    let mut command = API.command();
    command
        .env("DATABASE_URL", &db.url)
        .args(["--listen", "127.0.0.1:0"]);
    let api = Spawned::listening(&mut command);
    api.wait_until_ready().await;
    api
}

fn worker(db: &TestDb, id: &str) -> Spawned {
    let mut command = WORKER.command();
    command.env("DATABASE_URL", &db.url).args([
        "--id",
        id,
        "--poll-interval-ms",
        "50",
        "--retry-base-ms",
        "50",
    ]);
    Spawned::start(&mut command)
}

async fn post_job(addr: SocketAddr, body: Value) -> i64 {
    let response = request(addr, "POST", "/jobs", Some(&body)).await.unwrap();
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()["id"].as_i64().unwrap()
}

/// Polls `GET /jobs/{id}` until its status is `status`.
async fn wait_for_status(addr: SocketAddr, id: i64, status: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let job = request(addr, "GET", &format!("/jobs/{id}"), None)
            .await
            .unwrap()
            .json();
        if job["status"] == status {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} never became {status}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_job_posted_through_http_is_processed_by_a_worker_process() {
    let db = migrated().await;
    let api = api(&db).await;
    let _worker = worker(&db, "w1");
    let id = post_job(
        api.addr(),
        json!({"kind": "sum", "payload": {"numbers": [1, 2, 3.5]}}),
    )
    .await;
    let job = wait_for_status(api.addr(), id, "succeeded").await;
    assert_eq!(job["result"], json!({"sum": 6.5}));
    assert_eq!(job["attempts"], 1);
}

#[tokio::test]
async fn failed_attempts_are_retried_until_max_attempts() {
    let db = migrated().await;
    let api = api(&db).await;
    let _worker = worker(&db, "w1");
    let recovers = post_job(
        api.addr(),
        json!({"kind": "flaky", "payload": {"failures": 2}}),
    )
    .await;
    let gives_up = post_job(
        api.addr(),
        json!({"kind": "flaky", "payload": {"failures": 5}, "max_attempts": 2}),
    )
    .await;

    let job = wait_for_status(api.addr(), recovers, "succeeded").await;
    assert_eq!(
        (job["attempts"].as_i64(), &job["result"]),
        (Some(3), &json!({"succeeded_on_attempt": 3}))
    );
    let job = wait_for_status(api.addr(), gives_up, "failed").await;
    assert_eq!(job["attempts"], 2);
    assert_eq!(job["last_error"], "planned failure 2 of 5");
}

#[tokio::test]
async fn bad_jobs_are_refused_at_the_door() {
    let db = migrated().await;
    let api = api(&db).await;
    for (body, expected) in [
        (json!({"kind": "nope"}), "unknown job kind \"nope\""),
        (
            json!({"kind": "sum", "payload": {"numbers": ["x"]}}),
            "sum job: \"x\" is not a number",
        ),
        (
            json!({"kind": "echo", "max_attempts": 0}),
            "max_attempts must be 1..=20",
        ),
        (
            json!({"kind": "echo", "surprise": true}),
            "unknown field `surprise`",
        ),
    ] {
        let response = request(api.addr(), "POST", "/jobs", Some(&body))
            .await
            .unwrap();
        assert_eq!(response.status, 422, "{body}: {}", response.body);
        let error = response.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(expected), "{body}: {error}");
    }
    let missing = request(api.addr(), "GET", "/jobs/424242", None)
        .await
        .unwrap();
    assert_eq!(
        (missing.status, missing.json()["error"].as_str()),
        (404, Some("job 424242 not found"))
    );
    assert_eq!(db.scalar::<i64>("SELECT count(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn a_worker_finishes_its_current_job_when_asked_to_stop() {
    let db = migrated().await;
    let api = api(&db).await;
    let mut worker = worker(&db, "w1");
    let id = post_job(
        api.addr(),
        json!({"kind": "sleep", "payload": {"ms": 1500}}),
    )
    .await;
    wait_for_status(api.addr(), id, "running").await;

    assert_eq!(worker.terminate(), Some(0), "{}", worker.logs());
    let job = request(api.addr(), "GET", &format!("/jobs/{id}"), None)
        .await
        .unwrap()
        .json();
    assert_eq!(
        job["status"], "succeeded",
        "the job in progress was finished: {job}"
    );
    assert!(
        worker.logs().contains("worker stopped"),
        "{}",
        worker.logs()
    );
}

#[tokio::test]
async fn concurrent_workers_never_run_a_job_twice() {
    let db = migrated().await;
    let api = api(&db).await;
    let ids: Vec<i64> = {
        let mut ids = Vec::new();
        for n in 0..40 {
            ids.push(post_job(api.addr(), json!({"kind": "echo", "payload": {"n": n}})).await);
        }
        ids
    };
    let _workers: Vec<Spawned> = (1..=3).map(|i| worker(&db, &format!("w{i}"))).collect();
    for id in ids {
        let job = wait_for_status(api.addr(), id, "succeeded").await;
        assert_eq!(job["attempts"], 1, "{job}");
    }
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM jobs WHERE attempts <> 1")
            .await,
        0
    );
}
