//! Liveness (`/health`), readiness (`/ready`) and the service status in the API.

use std::sync::Arc;

use gallery_types::{DatabaseState, ServiceStatus};
use poem::{IntoResponse, Response, handler, web::Data};
use poem_openapi::{OpenApi, payload::Json};
use serde::Serialize;
use sqlx::PgPool;

use crate::{api::ApiTag, db, error::ApiError, photos::PhotosState};

#[derive(Serialize)]
struct Alive {
    status: &'static str,
}

/// `GET /health`: 200 while the process can answer at all. Restart the process if not.
#[handler]
pub async fn health() -> Response {
    poem::web::Json(Alive { status: "ok" }).into_response()
}

/// `GET /ready`: 200 while PostgreSQL answers, else 503. Send no traffic here if not.
#[handler]
pub async fn ready(pool: Data<&PgPool>) -> Response {
    match db::ping(&pool).await {
        DatabaseState::Ok => poem::web::Json(Alive { status: "ok" }).into_response(),
        DatabaseState::Unavailable => {
            ApiError::unavailable("the database is not reachable").into_response()
        }
    }
}

/// The service's own state, as the web client shows it.
#[derive(Debug, Default)]
pub struct StatusApi;

#[OpenApi(tag = "ApiTag::System")]
impl StatusApi {
    /// Service status
    ///
    /// The server's version and whether its database answers right now. Always 200: this
    /// describes the service, it does not gate traffic (that is `GET /ready`).
    #[oai(path = "/status", method = "get", operation_id = "get_status")]
    async fn status(
        &self,
        pool: Data<&PgPool>,
        photos: Data<&Arc<PhotosState>>,
    ) -> Json<ServiceStatus> {
        Json(ServiceStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database: db::ping(&pool).await,
            max_upload_bytes: photos.max_upload_bytes,
        })
    }
}
