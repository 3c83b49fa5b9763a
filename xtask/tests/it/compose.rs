//! docker-compose.yml and the Dockerfile keep the one rule: only `migrate` migrates, after a
//! healthy database and before everything else, as the migrator; the rest run as the runtime
//! role and only once it has succeeded.

use yaml_rust2::{Yaml, YamlLoader};

fn compose() -> Yaml {
    let text =
        std::fs::read_to_string(test_support::workspace_root().join("docker-compose.yml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

/// A service's key, looking through a `<<: *anchor` merge as compose does.
fn field<'a>(service: &'a Yaml, key: &str) -> &'a Yaml {
    match &service[key] {
        Yaml::BadValue => &service["<<"][key],
        value => value,
    }
}

fn text(yaml: &Yaml) -> String {
    match yaml {
        Yaml::String(s) => s.clone(),
        Yaml::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        Yaml::Hash(map) => map
            .iter()
            .map(|(k, v)| format!("{}={}", text(k), text(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Yaml::Integer(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn the_database_is_pinned_checked_and_persistent() {
    let compose = compose();
    let db = &compose["services"]["db"];
    let image = text(&db["image"]);
    let image = image
        .strip_prefix("${POSTGRES_IMAGE:-")
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or_else(|| {
            panic!("the image comes from POSTGRES_IMAGE, the official one by default: {image}")
        });
    let tag = image.split_once(':').map(|(_, tag)| tag).unwrap_or("");
    assert!(
        tag.chars().next().is_some_and(|c| c.is_ascii_digit()) && tag.contains('.'),
        "pin the image to a version: {image}"
    );
    assert!(text(&db["healthcheck"]["test"]).contains("pg_isready"));
    assert!(text(&db["volumes"]).contains("db-data:/var/lib/postgresql"));
    assert!(
        !compose["volumes"]["db-data"].is_badvalue(),
        "a named volume"
    );
}

#[test]
fn passwords_come_from_the_environment_and_are_required() {
    let compose = compose();
    let db = &compose["services"]["db"]["environment"];
    for var in [
        "POSTGRES_PASSWORD",
        "APP_MIGRATOR_PASSWORD",
        "APP_RUNTIME_PASSWORD",
    ] {
        let value = text(&db[var]);
        assert!(
            value.starts_with(&format!("${{{var}:?")),
            "{var} has no default and is required: {value}"
        );
    }
    let file =
        std::fs::read_to_string(test_support::workspace_root().join("docker-compose.yml")).unwrap();
    assert!(!file.contains(":-app_"), "no default password");
}

#[test]
fn base_images_are_variables_with_the_official_ones_as_defaults() {
    let root = test_support::workspace_root();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    for (arg, official) in [
        ("RUST_IMAGE", "rust:1.95-slim-bookworm"),
        ("RUNTIME_IMAGE", "debian:bookworm-slim"),
    ] {
        assert!(
            dockerfile.contains(&format!("ARG {arg}={official}")),
            "{arg} defaults to {official}"
        );
        assert!(dockerfile.contains(&format!("FROM ${{{arg}}}")));
        let compose = compose();
        let args = text(&compose["x-app"]["build"]["args"]);
        assert!(
            args.contains(&format!("{arg}=${{{arg}:-{official}}}")),
            "compose passes {arg}: {args}"
        );
    }
    assert!(
        dockerfile.contains("ARG GIT_COMMIT"),
        "the commit is a build argument"
    );
}

#[test]
fn migrate_runs_once_as_the_migrator_after_a_healthy_database() {
    let compose = compose();
    let migrate = &compose["services"]["migrate"];
    assert_eq!(text(field(migrate, "command")), "migrate up");
    assert_eq!(
        text(&migrate["depends_on"]["db"]["condition"]),
        "service_healthy"
    );
    assert_eq!(text(field(migrate, "restart")), "no", "a one-shot job");
    let url = text(&migrate["environment"]["MIGRATION_DATABASE_URL"]);
    assert!(url.starts_with("postgres://app_migrator:"), "{url}");
}

#[test]
fn the_api_and_workers_wait_for_migrate_and_run_as_the_runtime_role() {
    let compose = compose();
    for name in ["api", "worker"] {
        let service = &compose["services"][name];
        assert_eq!(
            text(&service["depends_on"]["migrate"]["condition"]),
            "service_completed_successfully",
            "{name} starts only after migrate succeeded"
        );
        let url = text(&service["environment"]["DATABASE_URL"]);
        assert!(url.starts_with("postgres://app_runtime:"), "{name}: {url}");
    }
}

#[test]
fn nothing_but_the_migrate_service_migrates() {
    let compose = compose();
    for (name, service) in compose["services"].as_hash().unwrap() {
        let name = text(name);
        if name == "migrate" {
            continue;
        }
        let command = text(field(service, "command"));
        assert!(
            !command.split_whitespace().any(|w| w == "migrate"),
            "{name} runs migrate: {command}"
        );
        assert!(
            !text(&service["environment"]).contains("MIGRATION_DATABASE_URL"),
            "{name} has the migrator's URL"
        );
    }
}

#[test]
fn the_image_builds_offline_with_the_migrations_in_its_context() {
    let root = test_support::workspace_root();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("SQLX_OFFLINE=true"),
        "the image builds without a database"
    );
    assert!(dockerfile.contains("--package app --bins"));
    for binary in ["migrate", "api", "worker"] {
        assert!(
            dockerfile.contains(&format!("target/release/{binary}")),
            "{binary} is in the image"
        );
    }
    let ignored = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    for line in ignored
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let pattern = line.trim_end_matches('/');
        for needed in ["migrations", ".sqlx", "Cargo.lock", "app"] {
            assert!(
                pattern != needed && pattern != "*" && pattern != "**",
                ".dockerignore must keep {needed}/: {line}"
            );
        }
    }
}
