//! What the chart must keep that no schema checks, each rule read from the app itself: the
//! Jobs' `podFailurePolicy` uses `migrate`'s documented exit codes, probes ask paths the app
//! serves on ports it listens on, only the migrating Job reads the migrator's Secret, every pod
//! runs one image, and nothing is a Helm hook.

use std::collections::BTreeSet;

use anyhow::{Context, bail, ensure};
use pg_cluster::process;
use xshell::{Shell, cmd};
use yaml_rust2::Yaml;

use crate::{migrate_bin, project_root};

/// What the app says of itself.
pub struct Facts {
    /// Exit codes that end a run for good (failed, refused, bad usage).
    final_codes: BTreeSet<i64>,
    /// Exit codes worth a retry (`(retryable)` in `migrate --help`).
    retryable_codes: BTreeSet<i64>,
    /// The paths the probe server answers (`app/src/probes.rs`).
    probe_paths: BTreeSet<String>,
}

impl Facts {
    pub fn of_the_app(sh: &Shell) -> anyhow::Result<Self> {
        let migrate = migrate_bin::app_binary("debug", "migrate");
        let help = process::read(cmd!(sh, "{migrate} --help"))?.replace('\n', " ");
        let codes = help
            .split_once("Exit codes:")
            .context("`migrate --help` documents no exit codes")?
            .1;
        let (mut final_codes, mut retryable_codes) = (BTreeSet::new(), BTreeSet::new());
        for item in codes.split(';') {
            let Some(code) = item.split_whitespace().next().and_then(|c| c.parse().ok()) else {
                continue;
            };
            match code {
                0 => {}
                _ if item.contains("(retryable)") => _ = retryable_codes.insert(code),
                _ => _ = final_codes.insert(code),
            }
        }
        ensure!(
            !final_codes.is_empty() && !retryable_codes.is_empty(),
            "`migrate --help` lists no final or no retryable exit code: {codes}"
        );
        let probes = std::fs::read_to_string(project_root().join("app/src/probes.rs"))?;
        let probe_paths = probes
            .split(".route(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            final_codes,
            retryable_codes,
            probe_paths,
        })
    }
}

/// The Secrets a rendering's pods must read, by role.
pub struct Secrets {
    pub migrator: &'static str,
    pub runtime: &'static str,
    pub fleet: Option<&'static str>,
}

pub fn check(objects: &[Yaml], facts: &Facts, secrets: &Secrets) -> anyhow::Result<()> {
    let mut images = BTreeSet::new();
    for object in objects {
        let name = format!(
            "{} {}",
            text(&object["kind"]),
            text(&object["metadata"]["name"])
        );
        ensure!(
            object["metadata"]["annotations"]["helm.sh/hook"].is_badvalue(),
            "{name} is a Helm hook: the schema gate makes hooks unnecessary"
        );
        let pod = match text(&object["kind"]).as_str() {
            "Job" | "Deployment" => &object["spec"]["template"]["spec"],
            _ => continue,
        };
        for container in list(&pod["containers"]) {
            images.insert(text(&container["image"]));
            probes(&container, facts).with_context(|| name.clone())?;
        }
        let read = secrets_read(pod);
        let allowed: BTreeSet<&str> = if text(&object["kind"]) == "Deployment" {
            BTreeSet::from([secrets.runtime])
        } else if name.contains("-fleet-") {
            secrets.fleet.into_iter().collect()
        } else {
            pod_failure_policy(object, facts).with_context(|| name.clone())?;
            BTreeSet::from([secrets.migrator])
        };
        ensure!(
            read.iter().map(String::as_str).collect::<BTreeSet<_>>() == allowed,
            "{name} reads the Secrets {read:?}; it must read exactly {allowed:?}"
        );
        if name.contains("-fleet-") {
            pod_failure_policy(object, facts).with_context(|| name.clone())?;
        }
    }
    ensure!(
        images.len() == 1,
        "the Jobs and Deployments must run one image, not {images:?}"
    );
    Ok(())
}

/// `restartPolicy: Never`; disruptions ignored; the final codes end the Job (or the index),
/// the retryable ones are counted, and no other code is named.
fn pod_failure_policy(job: &Yaml, facts: &Facts) -> anyhow::Result<()> {
    let pod = &job["spec"]["template"]["spec"];
    ensure!(
        text(&pod["restartPolicy"]) == "Never",
        "restartPolicy must be Never"
    );
    let containers: BTreeSet<String> = list(&pod["containers"])
        .iter()
        .map(|c| text(&c["name"]))
        .collect();
    let (mut ignores_disruption, mut ending, mut counted) =
        (false, BTreeSet::new(), BTreeSet::new());
    for rule in list(&job["spec"]["podFailurePolicy"]["rules"]) {
        let action = text(&rule["action"]);
        if list(&rule["onPodConditions"])
            .iter()
            .any(|c| text(&c["type"]) == "DisruptionTarget")
        {
            ignores_disruption |= action == "Ignore";
            continue;
        }
        let codes = &rule["onExitCodes"];
        ensure!(
            containers.contains(&text(&codes["containerName"])) && text(&codes["operator"]) == "In",
            "a rule names container {:?} of {containers:?}, operator {:?}",
            text(&codes["containerName"]),
            text(&codes["operator"])
        );
        let values: BTreeSet<i64> = list(&codes["values"])
            .iter()
            .filter_map(Yaml::as_i64)
            .collect();
        match action.as_str() {
            "FailJob" | "FailIndex" => ending.extend(values),
            "Count" => counted.extend(values),
            other => bail!("unexpected podFailurePolicy action {other}"),
        }
    }
    ensure!(
        ignores_disruption,
        "a DisruptionTarget condition must be ignored"
    );
    ensure!(
        ending == facts.final_codes && counted == facts.retryable_codes,
        "podFailurePolicy ends on {ending:?} and counts {counted:?}; `migrate --help` documents {:?} as final \
         and {:?} as retryable",
        facts.final_codes,
        facts.retryable_codes
    );
    Ok(())
}

/// Every probe asks a path the app serves, on a named port the container declares and the app
/// listens on (`--listen 0.0.0.0:PORT`).
fn probes(container: &Yaml, facts: &Facts) -> anyhow::Result<()> {
    let command: Vec<String> = list(&container["command"]).iter().map(text).collect();
    let listens = command
        .iter()
        .position(|a| a == "--listen")
        .and_then(|i| command.get(i + 1))
        .and_then(|addr| addr.rsplit(':').next()?.parse::<i64>().ok());
    for kind in ["startupProbe", "livenessProbe", "readinessProbe"] {
        let probe = &container[kind]["httpGet"];
        if probe.is_badvalue() {
            continue;
        }
        let path = text(&probe["path"]);
        ensure!(
            facts.probe_paths.contains(&path),
            "{kind} asks {path}, which app/src/probes.rs does not serve"
        );
        let port = list(&container["ports"])
            .iter()
            .find(|p| text(&p["name"]) == text(&probe["port"]))
            .and_then(|p| p["containerPort"].as_i64());
        ensure!(
            port.is_some() && port == listens,
            "{kind} asks port {} ({port:?}), and the container listens on {listens:?}",
            text(&probe["port"])
        );
    }
    Ok(())
}

/// The Secrets a pod mounts or reads into its environment.
fn secrets_read(pod: &Yaml) -> BTreeSet<String> {
    let mounted: Vec<String> = list(&pod["volumes"])
        .iter()
        .map(|v| text(&v["secret"]["secretName"]))
        .filter(|n| !n.is_empty())
        .collect();
    let in_env = list(&pod["containers"])
        .iter()
        .flat_map(|c| list(&c["env"]))
        .map(|e| text(&e["valueFrom"]["secretKeyRef"]["name"]))
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>();
    mounted.into_iter().chain(in_env).collect()
}

fn list(yaml: &Yaml) -> Vec<Yaml> {
    yaml.as_vec().cloned().unwrap_or_default()
}

fn text(yaml: &Yaml) -> String {
    match yaml {
        Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        _ => String::new(),
    }
}
