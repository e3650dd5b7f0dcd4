//! The floor: the bare driver doing a checkpoint's durable writes — the run row's revision bump
//! (fenced by revision and lease, as the stores do) and one entry upsert — into the stores' own
//! tables, `per_commit` checkpoints to a commit, from one connection.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::ours::Sample;

const UPDATE_SQLITE: &str = "UPDATE awaitly_runs SET revision = revision + 1, updated_at = ?3,
         lease_owner = ?4, lease_expires_at = ?5
     WHERE run_id = ?1 AND revision = ?2
       AND (lease_owner IS NULL OR lease_expires_at <= ?3 OR lease_owner = ?4)";
const UPSERT_SQLITE: &str = "INSERT INTO awaitly_entries (run_id, key, entry) VALUES (?1, ?2, ?3)
     ON CONFLICT (run_id, key) DO UPDATE SET entry = excluded.entry";

/// What a checkpoint of `ten_steps` stores as its entry.
const ENTRY: &str = r#"{"ok":1234}"#;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// `rows` checkpoints into the SQLite file at `path` (WAL, `synchronous = FULL`, its tables made
/// by `SqliteStore::open`), `per_commit` to a `BEGIN IMMEDIATE … COMMIT`.
pub(crate) fn sqlite(path: &Path, rows: usize, per_commit: usize) -> Result<Sample, String> {
    let text = |error: rusqlite::Error| error.to_string();
    let mut connection = rusqlite::Connection::open(path).map_err(text)?;
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(text)?;
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(text)?;
    let prefix = format!("floor-{per_commit}");
    let runs: Vec<String> = (0..per_commit).map(|i| format!("{prefix}-{i}")).collect();
    for run in &runs {
        connection
            .execute(
                "INSERT INTO awaitly_runs (run_id, workflow, version, input, status, outcome,
                     revision, created_at, updated_at) VALUES (?1, 'ten', 1, '0', 'running',
                     '\"running\"', 0, 0, 0)",
                [run],
            )
            .map_err(text)?;
    }
    let mut revision = 0_i64;
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut done = 0;
    while done < rows {
        let sent = Instant::now();
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(text)?;
        let now = now_ms();
        for run in &runs {
            let updated = transaction
                .prepare_cached(UPDATE_SQLITE)
                .and_then(|mut statement| {
                    statement.execute(rusqlite::params![run, revision, now, "floor", now + 30_000])
                })
                .map_err(text)?;
            if updated != 1 {
                return Err(format!("floor: {run} was not at revision {revision}"));
            }
            transaction
                .prepare_cached(UPSERT_SQLITE)
                .and_then(|mut statement| {
                    statement.execute(rusqlite::params![run, format!("s:{revision}"), ENTRY])
                })
                .map_err(text)?;
        }
        transaction.commit().map_err(text)?;
        latencies.push(sent.elapsed());
        revision += 1;
        done += per_commit;
    }
    Ok(Sample::new(done, started.elapsed(), latencies))
}

/// One statement of a pipelined transaction.
type Statement<'a> = Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a>>;

/// Polls every future in order until all are done, so tokio-postgres pipelines their requests
/// on one connection in that order; the results in the same order.
async fn pipelined<T>(futures: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut futures: Vec<_> = futures.into_iter().map(Some).collect();
    let mut results: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (slot, result) in futures.iter_mut().zip(results.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(context) {
                    Poll::Ready(value) => {
                        *result = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// `rows` checkpoints into the tables of `schema` (made by `PostgresStore`), `per_commit` to a
/// transaction (`BEGIN`, one array `UPDATE`, one array upsert, `COMMIT`) pipelined on one
/// connection: one round trip per commit.
pub(crate) async fn postgres(
    url: &str,
    schema: &str,
    rows: usize,
    per_commit: usize,
) -> Result<Sample, String> {
    let text = |error: tokio_postgres::Error| error.to_string();
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(text)?;
    let driver = tokio::spawn(connection);
    let s = format!("\"{schema}\"");
    let prefix = format!("floor-{per_commit}");
    let runs: Vec<String> = (0..per_commit).map(|i| format!("{prefix}-{i}")).collect();
    for run in &runs {
        client
            .execute(
                &format!(
                    "INSERT INTO {s}.runs (run_id, workflow, version, input, status, outcome,
                         revision, created_at, updated_at) VALUES ($1, 'ten', 1, '0', 'running',
                         '\"running\"', 0, 0, 0)"
                ),
                &[run],
            )
            .await
            .map_err(text)?;
    }
    let begin = client.prepare("BEGIN").await.map_err(text)?;
    let commit = client.prepare("COMMIT").await.map_err(text)?;
    // One statement per table for all the commit's rows (arrays), the fastest shape of these
    // writes through the bare driver.
    let update = client
        .prepare(&format!(
            "UPDATE {s}.runs SET revision = revision + 1, updated_at = $3,
                 lease_owner = $4, lease_expires_at = $5
             FROM unnest($1::TEXT[]) AS batch(run_id)
             WHERE runs.run_id = batch.run_id AND revision = $2
               AND (lease_owner IS NULL OR lease_expires_at <= $3 OR lease_owner = $4)"
        ))
        .await
        .map_err(text)?;
    let upsert = client
        .prepare(&format!(
            "INSERT INTO {s}.entries (run_id, key, entry) SELECT run_id, $2, $3
             FROM unnest($1::TEXT[]) AS batch(run_id)
             ON CONFLICT (run_id, key) DO UPDATE SET entry = excluded.entry"
        ))
        .await
        .map_err(text)?;
    let mut revision = 0_i64;
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut done = 0;
    while done < rows {
        let sent = Instant::now();
        let now = now_ms();
        let expires = now + 30_000;
        let key = format!("s:{revision}");
        let owner = "floor";
        let update_params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
            [&runs, &revision, &now, &owner, &expires];
        let upsert_params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&runs, &key, &ENTRY];
        let futures: Vec<Statement<'_>> = vec![
            Box::pin(client.execute(&begin, &[])),
            Box::pin(client.execute(&update, &update_params)),
            Box::pin(client.execute(&upsert, &upsert_params)),
            Box::pin(client.execute(&commit, &[])),
        ];
        for result in pipelined(futures).await {
            result.map_err(text)?;
        }
        latencies.push(sent.elapsed());
        revision += 1;
        done += per_commit;
    }
    let sample = Sample::new(done, started.elapsed(), latencies);
    drop(client);
    let _ = tokio::time::timeout(Duration::from_secs(5), driver).await;
    Ok(sample)
}
