//! Webhook endpoints and the outbox of their deliveries: an event becomes one row
//! per endpoint that takes its type, written on the connection given (the change's
//! transaction where the use case has one), and claimed by a worker with a lease.
//! Only the claim query differs between backends (`Backend::CLAIM_WEBHOOKS`).

use std::collections::HashMap;

use async_trait::async_trait;
use portcullis_core::store::WebhookStore;
use portcullis_core::webhooks::{
    Endpoint, EventFilter, EventType, NewEndpoint, QueuedDelivery, WebhookEvent, WebhookStats,
};
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::{R, Result};
use crate::rows::ts;

/// The SQL of webhooks, for use inside other areas' transactions.
pub(crate) struct Webhooks<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Webhooks<DB> {
    fn endpoint_from_row(row: &DB::Row) -> Result<Endpoint> {
        let events: String = row.try_get("events")?;
        Ok(Endpoint {
            id: row.try_get("id")?,
            url: row.try_get("url")?,
            events: EventFilter::from_stored(&events),
            created_at: ts(row.try_get("created_at")?)?,
        })
    }

    /// The endpoints that take events of `kind`.
    async fn takers(conn: &mut DB::Connection, kind: EventType) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id, events FROM webhook_endpoints ORDER BY created_at, id")
            .fetch_all(&mut *conn)
            .await?;
        let mut takers = Vec::new();
        for row in &rows {
            let events: String = row.try_get("events")?;
            let wanted = match EventFilter::from_stored(&events) {
                EventFilter::All => true,
                EventFilter::Only(types) => types.contains(&kind),
            };
            if wanted {
                takers.push(row.try_get("id")?);
            }
        }
        Ok(takers)
    }

    async fn insert_for(
        conn: &mut DB::Connection,
        endpoints: &[String],
        event: &WebhookEvent,
    ) -> Result<u64> {
        for endpoint in endpoints {
            sqlx::query(
                "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, user_id, payload, created_at,
                     attempts, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
            )
            .bind(endpoint.as_str())
            .bind(event.id.as_str())
            .bind(event.kind.as_str())
            .bind(event.user_id.map(|u| u.to_string()))
            .bind(event.payload.as_str())
            .bind(event.at.unix_timestamp())
            .execute(&mut *conn)
            .await?;
        }
        Ok(endpoints.len() as u64)
    }

    /// Writes a delivery of `event` for each endpoint that takes its type, on
    /// `conn` (the transaction of the change that causes it); returns how many.
    pub(crate) async fn insert(conn: &mut DB::Connection, event: &WebhookEvent) -> Result<u64> {
        let takers = Self::takers(&mut *conn, event.kind).await?;
        Self::insert_for(conn, &takers, event).await
    }
}

#[async_trait]
#[generic_sql]
impl<DB> WebhookStore for SqlStore<DB> {
    async fn create_endpoint(&self, e: &NewEndpoint) -> R<()> {
        self.run(async {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(e.endpoint.id.as_str())
            .bind(e.endpoint.url.as_str())
            .bind(e.endpoint.events.to_stored())
            .bind(e.sealed_secret.as_slice())
            .bind(e.endpoint.created_at.unix_timestamp())
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn list_endpoints(&self) -> R<Vec<Endpoint>> {
        self.run(async {
            let rows = sqlx::query(
                "SELECT id, url, events, created_at FROM webhook_endpoints ORDER BY created_at, id",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Webhooks::<DB>::endpoint_from_row).collect()
        })
        .await
    }

    async fn find_endpoint(&self, id: &str) -> R<Option<(Endpoint, Vec<u8>)>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT id, url, events, secret, created_at FROM webhook_endpoints WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|row| Ok((Webhooks::<DB>::endpoint_from_row(&row)?, row.try_get("secret")?))).transpose()
        })
        .await
    }

    async fn delete_endpoint(&self, id: &str) -> R<bool> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done =
                sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn enqueue_webhook_event(&self, event: &WebhookEvent) -> R<u64> {
        self.run(async {
            // Most installations have no endpoint: no write transaction for them.
            let mut conn = self.pool.acquire().await?;
            if Webhooks::<DB>::takers(&mut conn, event.kind).await?.is_empty() {
                return Ok(0);
            }
            drop(conn);
            let mut tx = DB::begin_write(&self.pool).await?;
            let written = Webhooks::<DB>::insert(&mut tx, event).await?;
            tx.commit().await?;
            Ok(written)
        })
        .await
    }

    /// Leases up to `limit` due deliveries, the earliest pending per endpoint and user.
    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> R<Vec<QueuedDelivery>> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let rows = sqlx::query(DB::CLAIM_WEBHOOKS)
                .bind(now.unix_timestamp())
                .bind(lease_until.unix_timestamp())
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            let endpoints: HashMap<String, (String, Vec<u8>)> = if rows.is_empty() {
                HashMap::new()
            } else {
                sqlx::query("SELECT id, url, secret FROM webhook_endpoints")
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get("id")?, (r.try_get("url")?, r.try_get("secret")?))))
                    .collect::<Result<_>>()?
            };
            tx.commit().await?;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in &rows {
                let endpoint_id: String = row.try_get("endpoint_id")?;
                // Deleted with its deliveries in one transaction, so always found.
                let Some((url, secret)) = endpoints.get(&endpoint_id) else { continue };
                claimed.push(QueuedDelivery {
                    id: row.try_get("id")?,
                    endpoint_id,
                    url: url.clone(),
                    sealed_secret: secret.clone(),
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    payload: row.try_get("payload")?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    created_at: ts(row.try_get("created_at")?)?,
                });
            }
            claimed.sort_by_key(|d| d.id);
            Ok(claimed)
        })
        .await
    }

    async fn mark_delivered(&self, id: i64, now: OffsetDateTime) -> R<()> {
        self.run(async {
            sqlx::query(
                "UPDATE webhook_deliveries
                 SET delivered_at = $1, attempts = attempts + 1, locked_until = NULL, last_error = NULL
                 WHERE id = $2",
            )
            .bind(now.unix_timestamp())
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn mark_delivery_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> R<()> {
        self.run(async {
            let query = match retry_at {
                Some(at) => sqlx::query(
                    "UPDATE webhook_deliveries
                     SET attempts = attempts + 1, last_error = $1, locked_until = NULL, next_attempt_at = $2
                     WHERE id = $3",
                )
                .bind(error)
                .bind(at.unix_timestamp()),
                None => sqlx::query(
                    "UPDATE webhook_deliveries
                     SET attempts = attempts + 1, last_error = $1, locked_until = NULL, gave_up_at = $2
                     WHERE id = $3",
                )
                .bind(error)
                .bind(now.unix_timestamp()),
            };
            query.bind(id).execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    async fn webhook_stats(&self, now: OffsetDateTime) -> R<WebhookStats> {
        self.run(async {
            let row = sqlx::query(
                "SELECT COUNT(*) FILTER (WHERE delivered_at IS NULL AND gave_up_at IS NULL) AS pending,
                        COUNT(*) FILTER (WHERE delivered_at IS NULL AND gave_up_at IS NULL
                                           AND next_attempt_at <= $1) AS due,
                        COUNT(*) FILTER (WHERE gave_up_at IS NOT NULL) AS failed,
                        MIN(created_at) FILTER (WHERE delivered_at IS NULL AND gave_up_at IS NULL) AS oldest
                 FROM webhook_deliveries",
            )
            .bind(now.unix_timestamp())
            .fetch_one(&self.pool)
            .await?;
            let count =
                |name: &str| -> Result<u64> { Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0)) };
            Ok(WebhookStats {
                pending: count("pending")?,
                due: count("due")?,
                failed: count("failed")?,
                oldest_pending: row.try_get::<Option<i64>, _>("oldest")?.map(ts).transpose()?,
                oldest_age: None,
            })
        })
        .await
    }

    async fn purge_deliveries(&self, before: OffsetDateTime) -> R<u64> {
        self.run(async {
            let done =
                sqlx::query("DELETE FROM webhook_deliveries WHERE delivered_at < $1 OR gave_up_at < $1")
                    .bind(before.unix_timestamp())
                    .execute(&self.pool)
                    .await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
