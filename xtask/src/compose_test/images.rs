//! The images the stack runs on. The official ones (`postgres`, `rust`, `debian`) when the
//! engine has them or can pull them; where no registry answers, stand-ins built here from
//! Debian's packages: a bookworm root file system (`debootstrap`) with the host's CA bundle
//! (so that builds inside reach the crate registry), imported as an image; the host's Rust
//! toolchain added to it for the build stage; Debian's PostgreSQL in it for the database,
//! behind an entrypoint that honours the part of the official image's contract the compose file
//! uses. Stand-ins are tagged `app-standin/...`, never with an official image's name.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use pg_cluster::process;

use crate::target_dir;

/// The images the compose file and the Dockerfile take from variables.
pub struct BaseImages {
    pub postgres: String,
    pub rust: String,
    pub runtime: String,
}

const OFFICIAL: [(&str, &str); 3] = [
    ("POSTGRES_IMAGE", "postgres:18.4"),
    ("RUST_IMAGE", "rust:1.95-slim-bookworm"),
    ("RUNTIME_IMAGE", "debian:bookworm-slim"),
];
const STANDIN_DEBIAN: &str = "app-standin/debian:bookworm";
const STANDIN_RUST: &str = "app-standin/rust:bookworm";
const STANDIN_POSTGRES: &str = "app-standin/postgres:15-bookworm";
/// What the stand-ins' root file system holds besides minbase.
const PACKAGES: &str = "ca-certificates,gcc,libc6-dev,zlib1g,postgresql-15,postgresql-client-15";

/// The entrypoint of the PostgreSQL stand-in: `POSTGRES_PASSWORD`, `POSTGRES_DB`, the scripts
/// of `/docker-entrypoint-initdb.d` on the first start, the data under
/// `/var/lib/postgresql/<major>/docker` (the layout of the official image from 18 on), and the
/// server as PID 1, so that SIGTERM stops it.
const POSTGRES_ENTRYPOINT: &str = r#"#!/bin/sh
set -eu
bin=/usr/lib/postgresql/15/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
export PGDATA=/var/lib/postgresql/15/docker
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
export POSTGRES_USER="${POSTGRES_USER:-postgres}" POSTGRES_DB="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"
mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s' "$POSTGRES_PASSWORD" > /tmp/pwfile && chown postgres /tmp/pwfile
    as_postgres "$bin/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/pwfile \
        --auth-host=scram-sha-256 --auth-local=trust >/dev/null
    rm /tmp/pwfile
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    as_postgres "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=" -w start >/dev/null
    export PGUSER="$POSTGRES_USER"
    if [ "$POSTGRES_DB" != postgres ]; then
        psql -v ON_ERROR_STOP=1 -q --dbname postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh) echo "running $script"; sh "$script" ;;
            *.sql) echo "running $script"; psql -v ON_ERROR_STOP=1 -q --dbname "$POSTGRES_DB" -f "$script" ;;
        esac
    done
    unset PGUSER
    as_postgres "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$PGDATA"
"#;

/// The images to use: from the environment when set there (a mirror's, say), else the
/// official ones when the engine has or can pull them, else stand-ins (built once).
pub fn base_images() -> anyhow::Result<BaseImages> {
    let mut chosen = Vec::new();
    let mut missing = false;
    for (var, official) in OFFICIAL {
        let image = std::env::var(var).unwrap_or_else(|_| official.to_owned());
        if !available(&image) {
            missing = true;
        }
        chosen.push(image);
    }
    if !missing {
        return Ok(BaseImages {
            postgres: chosen.remove(0),
            rust: chosen.remove(0),
            runtime: chosen.remove(0),
        });
    }
    eprintln!(
        "compose-test: the base images cannot be had from a registry; using stand-ins built from Debian's packages"
    );
    build_standins()?;
    Ok(BaseImages {
        postgres: STANDIN_POSTGRES.to_owned(),
        rust: STANDIN_RUST.to_owned(),
        runtime: STANDIN_DEBIAN.to_owned(),
    })
}

/// Whether the engine has `image`, or gets it by pulling.
fn available(image: &str) -> bool {
    let inspect = || {
        let mut docker = Command::new("docker");
        docker.args(["image", "inspect", "--format", "{{.Id}}", image]);
        process::succeeds(docker)
    };
    inspect() || {
        let mut pull = Command::new("docker");
        pull.args(["pull", "--quiet", image]);
        process::succeeds(pull)
    }
}

/// The stand-ins that are not built yet.
fn build_standins() -> anyhow::Result<()> {
    let standins = [STANDIN_DEBIAN, STANDIN_RUST, STANDIN_POSTGRES];
    if standins.iter().all(|image| has(image)) {
        return Ok(());
    }
    let work = target_dir().join("compose-test").join("standins");
    let rootfs = work.join("rootfs");
    if !rootfs.join(".complete").exists() {
        debootstrap(&rootfs)?;
    }
    if !has(STANDIN_DEBIAN) {
        import(&rootfs, None, STANDIN_DEBIAN, &[])?;
    }
    if !has(STANDIN_RUST) {
        let toolchain = host_toolchain()?;
        import(
            &rootfs,
            Some(&toolchain),
            STANDIN_RUST,
            &[
                "ENV PATH=/usr/local/rust/bin:/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV CARGO_HOME=/usr/local/cargo",
            ],
        )?;
    }
    if !has(STANDIN_POSTGRES) {
        let context = work.join("postgres");
        fs::create_dir_all(&context)?;
        fs::write(context.join("entrypoint.sh"), POSTGRES_ENTRYPOINT)?;
        fs::write(
            context.join("Dockerfile"),
            format!(
                "FROM {STANDIN_DEBIAN}\n\
                 COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh\n\
                 RUN chmod 755 /usr/local/bin/docker-entrypoint.sh && mkdir -p /docker-entrypoint-initdb.d\n\
                 ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
                 STOPSIGNAL SIGINT\n\
                 EXPOSE 5432\n\
                 ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"]\n"
            ),
        )?;
        let mut build = Command::new("docker");
        build
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "--quiet", "--tag", STANDIN_POSTGRES])
            .arg(&context);
        process::run(build)?;
    }
    Ok(())
}

fn has(image: &str) -> bool {
    let mut docker = Command::new("docker");
    docker.args(["image", "inspect", "--format", "{{.Id}}", image]);
    process::succeeds(docker)
}

/// A Debian bookworm root file system with [`PACKAGES`], from the mirror apt uses, and the
/// host's CA bundle.
fn debootstrap(rootfs: &Path) -> anyhow::Result<()> {
    if !process::succeeds({
        let mut version = Command::new("debootstrap");
        version.arg("--version");
        version
    }) {
        bail!(
            "no registry answers and debootstrap is not installed to build stand-in images: apt install debootstrap \
             (or set POSTGRES_IMAGE, RUST_IMAGE and RUNTIME_IMAGE to images from a registry mirror)"
        );
    }
    if rootfs.exists() {
        fs::remove_dir_all(rootfs)?;
    }
    fs::create_dir_all(rootfs)?;
    let mut debootstrap = Command::new("debootstrap");
    debootstrap
        .args([
            "--variant=minbase",
            &format!("--include={PACKAGES}"),
            "bookworm",
        ])
        .arg(rootfs)
        .arg(debian_mirror());
    process::run(debootstrap).context("debootstrap failed")?;
    let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if bundle.exists() {
        fs::copy(bundle, rootfs.join("etc/ssl/certs/ca-certificates.crt"))?;
    }
    // Debian's cluster the package made: the stand-in's entrypoint makes its own.
    let _ = fs::remove_dir_all(rootfs.join("var/lib/postgresql/15"));
    let _ = fs::remove_dir_all(rootfs.join("etc/postgresql/15"));
    fs::write(rootfs.join(".complete"), "")?;
    Ok(())
}

/// The mirror apt uses on this machine (Debian's own otherwise).
fn debian_mirror() -> String {
    let sources = fs::read_to_string("/etc/apt/sources.list.d/debian.sources")
        .or_else(|_| fs::read_to_string("/etc/apt/sources.list"))
        .unwrap_or_default();
    sources
        .split_whitespace()
        .find(|word| word.starts_with("http") && word.ends_with("/debian"))
        .unwrap_or("http://deb.debian.org/debian")
        .to_owned()
}

/// The host's Rust toolchain directory (its `bin` and `lib` are what a build needs).
fn host_toolchain() -> anyhow::Result<PathBuf> {
    let sysroot = process::read({
        let mut rustc = Command::new("rustc");
        rustc.args(["--print", "sysroot"]);
        rustc
    })
    .context("rustc --print sysroot")?;
    Ok(PathBuf::from(sysroot.trim()))
}

/// `rootfs` (and the toolchain's `bin` and `lib` under `/usr/local/rust`) as image `tag`.
fn import(
    rootfs: &Path,
    toolchain: Option<&Path>,
    tag: &str,
    changes: &[&str],
) -> anyhow::Result<()> {
    let mut tar = format!("tar -C {} --exclude=./.complete -c .", quote(rootfs));
    if let Some(toolchain) = toolchain {
        tar += &format!(
            " --transform 's,^bin,usr/local/rust/bin,rSH' --transform 's,^lib,usr/local/rust/lib,rSH' -C {} bin lib",
            quote(toolchain)
        );
    }
    let mut import = format!("{tar} | docker import");
    for change in changes {
        import += &format!(" --change {}", quote_str(change));
    }
    import += &format!(" - {tag}");
    eprintln!("compose-test: importing {tag}");
    let mut shell = Command::new("sh");
    shell.args(["-c", &import]);
    process::run(shell)
}

fn quote(path: &Path) -> String {
    quote_str(&path.display().to_string())
}

fn quote_str(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
