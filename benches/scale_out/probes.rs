//! What the harness reads from PostgreSQL and the nodes besides `/proc`: which backends serve
//! whom, what they are doing, the workers' counters, the database's counters.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cluster::Node;

/// The pids of the backends whose `application_name` is one of `names`.
pub(crate) async fn backends(
    monitor: &tokio_postgres::Client,
    names: &[&str],
) -> Vec<(u32, String)> {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    monitor
        .query(
            "SELECT pid, application_name FROM pg_stat_activity WHERE application_name = ANY($1)",
            &[&names],
        )
        .await
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let pid: i32 = row.get(0);
                    (u32::try_from(pid).unwrap_or(0), row.get(1))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the backends of one `application_name` were doing, summed over samples of
/// `pg_stat_activity`: `active` (on a CPU or waiting for one), `active:<wait event type>`,
/// `idle in transaction` (waiting for the node's next statement), `idle` (free in the pool).
#[derive(Debug, Default)]
pub(crate) struct Sampler {
    samples: u32,
    states: BTreeMap<String, i64>,
}

impl Sampler {
    pub(crate) async fn sample(&mut self, monitor: &tokio_postgres::Client, name: &str) {
        let rows = monitor
            .query(
                "SELECT CASE WHEN state = 'active' AND wait_event_type IS NOT NULL
                          THEN 'active:' || wait_event_type ELSE COALESCE(state, '?') END,
                        COUNT(*)
                 FROM pg_stat_activity WHERE application_name = $1 GROUP BY 1",
                &[&name],
            )
            .await;
        let Ok(rows) = rows else {
            return;
        };
        self.samples += 1;
        for row in rows {
            *self.states.entry(row.get(0)).or_default() += row.get::<_, i64>(1);
        }
    }

    /// The mean number of backends in each state.
    pub(crate) fn means(&self) -> BTreeMap<String, f64> {
        let samples = f64::from(self.samples.max(1));
        self.states
            .iter()
            .map(|(state, total)| (state.clone(), *total as f64 / samples))
            .collect()
    }
}

/// Each node's worker counters so far: claims made, runs advanced (`GET /history/worker`).
pub(crate) async fn worker_counters(client: &reqwest::Client, nodes: &[Node]) -> Vec<(u64, u64)> {
    let mut counters = Vec::new();
    for node in nodes {
        let stats: Value = match client
            .get(format!("{}/history/worker", node.base))
            .send()
            .await
        {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        counters.push((
            stats["ticks"].as_u64().unwrap_or(0),
            stats["resumed"].as_u64().unwrap_or(0),
        ));
    }
    counters
}

/// Transactions committed in the database so far (every client's, read-only ones too; a backend
/// reports its count at most once a second and when it exits) and WAL bytes written so far (the
/// whole server).
pub(crate) async fn database_counters(monitor: &tokio_postgres::Client) -> (i64, i64) {
    monitor
        .query_one(
            "SELECT xact_commit, (pg_current_wal_lsn() - '0/0'::pg_lsn)::BIGINT
             FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .map_or((0, 0), |row| (row.get(0), row.get(1)))
}
