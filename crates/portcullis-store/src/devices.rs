//! Devices accounts signed in from (the new-device notice of issue #21). The
//! insert that finds a device new is the one that queues the notice, in the same
//! transaction, so a device is announced once however many sign-ins race.

use async_trait::async_trait;
use portcullis_core::UserId;
use portcullis_core::devices::{DeviceSeen, KnownDevice};
use portcullis_core::mail::NewMail;
use portcullis_core::store::{DeviceSighting, DeviceStore};
use sqlx::Row as _;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::backend::RowsAffected as _;
use crate::error::R;
use crate::outbox::Outbox;
use crate::rows::ts;
use crate::webhooks::Webhooks;
use portcullis_core::webhooks::WebhookEvent;

#[async_trait]
#[generic_sql]
impl<DB> DeviceStore for SqlStore<DB> {
    async fn record_device(
        &self,
        d: &DeviceSighting<'_>,
        notice: &NewMail,
        event: &WebhookEvent,
    ) -> R<DeviceSeen> {
        self.run(async {
            let mut tx = DB::begin_write(&self.pool).await?;
            let user = d.user_id.to_string();
            let at = d.at.unix_timestamp();
            let known = sqlx::query(
                "UPDATE known_devices SET last_seen_at = $3 WHERE user_id = $1 AND device_hash = $2",
            )
            .bind(&user)
            .bind(&d.device_hash.as_bytes()[..])
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if known.rows_affected() > 0 {
                tx.commit().await?;
                return Ok(DeviceSeen::Known);
            }
            let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM known_devices WHERE user_id = $1")
                .bind(&user)
                .fetch_one(&mut *tx)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO known_devices (user_id, device_hash, first_seen_at, last_seen_at, client, ip)
                 VALUES ($1, $2, $3, $3, $4, $5)
                 ON CONFLICT (user_id, device_hash) DO NOTHING",
            )
            .bind(&user)
            .bind(&d.device_hash.as_bytes()[..])
            .bind(at)
            .bind(d.client)
            .bind(d.ip)
            .execute(&mut *tx)
            .await?;
            let seen = if inserted.rows_affected() == 0 {
                DeviceSeen::Known
            } else if others == 0 {
                DeviceSeen::First
            } else {
                Outbox::insert(&mut *tx, notice).await?;
                Webhooks::<DB>::insert(&mut tx, event).await?;
                DeviceSeen::New
            };
            tx.commit().await?;
            Ok(seen)
        })
        .await
    }

    async fn list_devices(&self, user: UserId) -> R<Vec<KnownDevice>> {
        self.run(async {
            let rows = sqlx::query(
                "SELECT first_seen_at, last_seen_at, client, ip FROM known_devices
                 WHERE user_id = $1 ORDER BY last_seen_at DESC, first_seen_at DESC",
            )
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(KnownDevice {
                        first_seen_at: ts(row.try_get("first_seen_at")?)?,
                        last_seen_at: ts(row.try_get("last_seen_at")?)?,
                        client: row.try_get("client")?,
                        ip: row.try_get("ip")?,
                    })
                })
                .collect()
        })
        .await
    }
}
