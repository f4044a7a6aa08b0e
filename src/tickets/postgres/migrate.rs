//! The PostgreSQL schema: `migrations/postgres/*.sql` (the same numbers
//! and meaning as the SQLite ones), each applied in its own transaction and
//! recorded in `schema_version`. A session advisory lock makes processes
//! starting together migrate one at a time; a database newer than this
//! binary is refused.

use super::PgStore;
use crate::tickets::StoreError;

/// The schema, oldest first; append only, like SQLite's list.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/0001_init.sql"),
    include_str!("../../../migrations/postgres/0002_delivery.sql"),
    include_str!("../../../migrations/postgres/0003_close_reason.sql"),
    include_str!("../../../migrations/postgres/0004_ticket_places.sql"),
    include_str!("../../../migrations/postgres/0005_delivery_parts.sql"),
    include_str!("../../../migrations/postgres/0006_lifecycle.sql"),
    include_str!("../../../migrations/postgres/0007_transcripts_dashboard.sql"),
    include_str!("../../../migrations/postgres/0008_reply_leases.sql"),
    include_str!("../../../migrations/postgres/0009_transcript_order.sql"),
];

/// The advisory lock key held while migrating ("triage-migrate").
const MIGRATE_LOCK: i64 = 0x7472_6961_6765_6d67;

pub(super) fn migrate(store: &PgStore) -> Result<(), StoreError> {
    let mut client = store.client()?;
    store.wait(async {
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])
            .await?;
        let result = run(&mut client).await;
        // Unlock whatever happened; a dropped connection unlocks anyway.
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK])
            .await;
        result?;
        unlocked?;
        Ok(())
    })
}

async fn run(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await?;
    let found: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .await?
        .get(0);
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = (i + 1) as i64;
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute("DELETE FROM schema_version", &[]).await?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tx.commit().await?;
        tracing::debug!(version, "applied PostgreSQL migration");
    }
    Ok(())
}
