//! Figure: the same migrations through a slow link. A managed database in the same zone is
//! about 1 ms of round trip away, one in another region 10 ms or more: a tool that waits for the
//! server after every statement pays that many times over. Each tool runs directly and through
//! a [`DelayProxy`] at each delay, in the same run; the proxy counts the round trips. The
//! figure runs on the scratch server (in memory where `cargo xtask` runs it): the faster the
//! server, the larger the link's share, so that is where it shows.

use std::time::Duration;

use anyhow::Context;

use crate::db::{Server, scratch::ScratchDb};

use super::{
    Ctx,
    apply::{self, PSQL_AUTOCOMMIT, PSQL_ONE_TRANSACTION, Tool},
    proxy::DelayProxy,
    report::{Section, median, ratio, show_ms},
};

/// The links: none, a zone's, another region's.
const LINKS: [(&str, Option<Duration>); 3] = [
    ("direct", None),
    ("1 ms", Some(Duration::from_millis(1))),
    ("10 ms", Some(Duration::from_millis(10))),
];
const SIZES: [usize; 2] = [100, 1000];
const TOOLS: [&str; 4] = [
    "migrate up",
    PSQL_AUTOCOMMIT,
    PSQL_ONE_TRANSACTION,
    "sqlx-cli migrate run",
];

pub fn run(ctx: &Ctx<'_>, server: &Server, with_sqlx_cli: bool) -> anyhow::Result<Vec<Section>> {
    let tools: Vec<Tool> = apply::tools(with_sqlx_cli)
        .into_iter()
        .filter(|t| TOOLS.contains(&t.name))
        .collect();
    let target = server
        .admin
        .tcp_address()
        .context("the slow-link figure proxies TCP")?;
    let proxies: Vec<Option<DelayProxy>> = LINKS
        .iter()
        .map(|(_, delay)| delay.map(|d| DelayProxy::start(target, d)).transpose())
        .collect::<std::io::Result<_>>()?;
    let runs = ctx.runs.min(3);
    let mut sections = Vec::new();
    for size in SIZES {
        let dir = ctx.generated_migrations(size)?;
        // [tool][link]: times in ms, and round trips.
        let mut times = vec![vec![Vec::new(); LINKS.len()]; tools.len()];
        let mut trips = vec![vec![Vec::new(); LINKS.len()]; tools.len()];
        for run in 1..=runs {
            for (t, tool) in tools.iter().enumerate() {
                for (l, proxy) in proxies.iter().enumerate() {
                    eprintln!(
                        "bench: slow link, {size} migrations, run {run}/{runs}: {} ({})",
                        tool.name, LINKS[l].0
                    );
                    let scratch = ScratchDb::create(server, "link")?;
                    let url = match proxy {
                        Some(proxy) => {
                            proxy.take_round_trips();
                            scratch.url.via_local_port(proxy.port)
                        }
                        None => scratch.url.clone(),
                    };
                    let command = (tool.command)(ctx, &dir, &url)?;
                    let stdin = apply::stdin_for(tool.name, &dir)?;
                    times[t][l].push(
                        apply::time(command, stdin.as_deref())
                            .with_context(|| format!("{} failed", tool.name))?,
                    );
                    if let Some(proxy) = proxy {
                        trips[t][l].push(proxy.take_round_trips() as f64);
                    }
                }
            }
        }
        let mut section = Section::new(
            format!("Slow link: apply {size} one-table migrations through a delaying proxy"),
            &[
                "tool",
                "round trip",
                "median",
                "min",
                "max",
                "round trips per migration",
                "vs the same tool, direct",
                "vs psql autocommit, same link",
            ],
        );
        let medians: Vec<Vec<f64>> = times
            .iter()
            .map(|links| links.iter().map(|t| median(t)).collect())
            .collect();
        let psql = tools.iter().position(|t| t.name == PSQL_AUTOCOMMIT);
        for (t, tool) in tools.iter().enumerate() {
            for (l, (link, _)) in LINKS.iter().enumerate() {
                let runs = &times[t][l];
                let min = runs.iter().copied().fold(f64::INFINITY, f64::min);
                let max = runs.iter().copied().fold(0.0, f64::max);
                let per_migration = if trips[t][l].is_empty() {
                    "-".to_owned()
                } else {
                    format!("{:.2}", median(&trips[t][l]) / size as f64)
                };
                section.row(vec![
                    format!("`{}`", tool.name),
                    (*link).to_owned(),
                    show_ms(medians[t][l]),
                    show_ms(min),
                    show_ms(max),
                    per_migration,
                    ratio(medians[t][l], medians[t][0]),
                    psql.map_or_else(String::new, |p| ratio(medians[t][l], medians[p][l])),
                ]);
            }
        }
        section.note(format!(
            "Median of {runs} runs, each on a new database, tools and links interleaved within a run; a run is \
             the whole process, start to exit. The proxy delays each direction by half the round trip and counts \
             a round trip each time the client speaks after the server has: connecting and the session's own \
             queries included, divided by the number of migrations."
        ));
        sections.push(section);
    }
    Ok(sections)
}
