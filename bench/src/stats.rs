//! What a run measured: latency percentiles, and a process's memory and CPU time read from
//! `/proc`.

use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    /// Of `latencies` (sorted here); zeros when there are none.
    pub fn of(latencies: &mut [Duration]) -> Self {
        latencies.sort_unstable();
        let at = |fraction: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let index =
                ((latencies.len() as f64 * fraction).ceil() as usize).clamp(1, latencies.len());
            milliseconds(latencies[index - 1])
        };
        Self {
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

pub fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A process seen through `/proc/<pid>`.
#[derive(Debug, Clone, Copy)]
pub struct Process(pub u32);

impl Process {
    /// Resident memory now, in bytes.
    pub fn rss(self) -> anyhow::Result<u64> {
        self.status_kib("VmRSS:").map(|kib| kib * 1024)
    }

    fn status_kib(self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0))
            .with_context(|| format!("cannot read the status of process {}", self.0))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().trim_end_matches(" kB").parse().ok())
            .with_context(|| format!("no {field} in the status of process {}", self.0))
    }

    /// CPU time used so far, user and system together (all threads).
    pub fn cpu_time(self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0))
            .with_context(|| format!("cannot read the stat of process {}", self.0))?;
        // Fields after the command name (which is in parentheses and may hold spaces).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .context("a malformed stat line")?
            .1
            .split_whitespace()
            .collect();
        // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(Duration::from_secs_f64(
            ticks as f64 / CLOCK_TICKS_PER_SECOND,
        ))
    }
}

/// `getconf CLK_TCK`: the unit of `/proc/<pid>/stat`'s times on every Linux this runs on.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_value_at_or_above_the_rank() {
        let mut latencies: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let percentiles = Percentiles::of(&mut latencies);
        assert_eq!(percentiles.p50_ms, 50.0);
        assert_eq!(percentiles.p99_ms, 99.0);
        assert_eq!(percentiles.max_ms, 100.0);
        assert_eq!(Percentiles::of(&mut []).p99_ms, 0.0);
    }

    #[test]
    fn this_process_has_memory_and_cpu_time() {
        let me = Process(std::process::id());
        assert!(me.rss().unwrap() > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {}
        assert!(me.cpu_time().unwrap() > Duration::ZERO);
    }
}
