//! The bench's Markdown table, made from its report.

use super::figures::{BenchReport, Stats};

pub fn markdown(report: &BenchReport) -> String {
    let ms = |s: &Stats| format!("{:.0} ms ({:.0}–{:.0})", s.median, s.min, s.max);
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0));
    let mut out = format!(
        "Bench of {}, engine {}, {}; median of {} runs (min–max).\n\n",
        report.date, report.engine, report.bases, report.runs
    );
    // `docker at HOST 20.10`, `podman 4.3`: the CLI is the first word.
    let cli = report.engine.split_whitespace().next().unwrap_or("docker");
    if !report.build.is_empty() {
        out += &format!(
            "| build | `cargo xtask image` | xtask binary alone | plain `{cli} build` | ratio |\n|---|---|---|---|---|\n"
        );
        for b in &report.build {
            let (xtask, binary, docker) = (ms(&b.xtask_ms), ms(&b.binary_ms), ms(&b.docker_ms));
            out += &format!("| {} | {xtask} | {binary} | {docker} | {:.2} |\n", b.scenario, b.overhead);
        }
        if let Some(c) = &report.cargo_startup_ms {
            out += &format!("| cargo's own start (`cargo xtask --help`) | {} | | | |\n", ms(c));
        }
    }
    if let Some(s) = &report.size {
        out += "\n| size | |\n|---|---|\n";
        out += &format!("| final image | {} ({} bytes) |\n", mib(s.final_bytes), s.final_bytes);
        out += &format!("| runtime base | {} |\n", mib(s.runtime_base_bytes));
        out += &format!("| added over the base | {} |\n", mib(s.added_bytes));
        out += &format!("| site-packages + app | {} |\n", mib(s.payload_bytes));
        out += &format!("| waste ratio (added ÷ payload) | {:.3} |\n", s.waste_ratio);
        out += &format!("| naive single-stage image | {} |\n", mib(s.naive_bytes));
        out += &format!("| final ÷ naive | {:.2} |\n", s.final_over_naive);
    }
    if let Some(c) = &report.context {
        out += "\n| build context | |\n|---|---|\n";
        out += &format!("| bytes sent | {} |\n", c.bytes);
        out += &format!("| bytes sent with 1 GiB in target/ | {} ({:.0} ms) |\n", c.bytes_with_junk, c.ms_with_junk);
    }
    if let Some(l) = &report.lifecycle {
        out += "\n| start and stop | |\n|---|---|\n";
        out += &format!("| `{cli} run` to first answer on /health | {} |\n", ms(&l.ready_ms));
        out += &format!("| `{cli} stop`, exec-form CMD (ours) | {} |\n", ms(&l.stop_ms));
        out += &format!("| `{cli} stop`, shell-form CMD | {} |\n", ms(&l.shell_form_stop_ms));
    }
    if let Some(s) = &report.stack {
        out += "\n| the stack | |\n|---|---|\n";
        out += &format!("| `cargo xtask up` until every service is ready | {} |\n", ms(&s.up_ms));
        match &s.compose_up_wait_ms {
            Some(compose) => {
                out += &format!("| `docker compose up -d --wait`, same file | {} |\n", ms(compose));
                out += &format!("| up ÷ compose | {:.2} |\n", s.up_ms.median / compose.median);
            }
            None => out += "| `docker compose up -d --wait` | not on podman: its healthchecks never run |\n",
        }
        out += &format!("| `cargo xtask smoke --stack --no-build`, end to end | {} |\n", ms(&s.smoke_ms));
        out += &format!("| … image | {} |\n", ms(&s.smoke_build_ms));
        out += &format!("| … start until every service is ready | {} |\n", ms(&s.smoke_ready_ms));
        out += &format!("| … checks | {} |\n", ms(&s.smoke_checks_ms));
        out += &format!("| … teardown with volumes | {} |\n", ms(&s.smoke_stop_ms));
    }
    if let Some(w) = &report.watch {
        let (of, flag, rebuilt) = match w.stack {
            true => (" of the stack", " --stack", " on the API"),
            false => ("", "", ""),
        };
        out += &format!("\n| the dev loop{of}, {} edits: save → new code answers | |\n|---|---|\n", w.edits);
        out += &format!("| `cargo xtask watch{flag}` | {} |\n", ms(&w.xtask_ms));
        match &w.compose_watch_ms {
            Some(compose) => {
                out += &format!("| `docker compose watch`, `rebuild` action{rebuilt} | {} |\n", ms(compose))
            }
            None => out += "| `docker compose watch` | not on podman |\n",
        }
    }
    if let Some(message) = &report.message {
        out += &format!("\nThe bench stopped early: {message}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::bench::figures::BuildFigure;

    #[test]
    fn the_table_has_a_row_per_figure() {
        let stats = Stats::of(vec![1.0]);
        let report = BenchReport {
            runs: 1,
            build: vec![BuildFigure {
                scenario: "no-op rebuild",
                xtask_ms: stats,
                binary_ms: stats,
                docker_ms: stats,
                overhead: 1.0,
            }],
            ..BenchReport::default()
        };
        let table = markdown(&report);
        assert!(table.contains("| no-op rebuild | 1 ms (1–1) | 1 ms (1–1) | 1 ms (1–1) | 1.00 |"), "{table}");
    }
}
