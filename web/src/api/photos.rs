//! Photo calls: the feed, one photo, editing, favorites, search, and the upload with
//! progress (through XMLHttpRequest: fetch cannot report upload progress).

use gallery_types::{
    DuplicatePhoto, ErrorBody, Photo, PhotoPage, PhotoSort, SearchResults, UpdatePhotoRequest,
};
use gloo_net::http::Request;
use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{FormData, ProgressEvent, XmlHttpRequest};
use yew::Callback;

use super::{Api, ApiFailure, expect_nothing, receive, send};

/// Which photos a feed shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedQuery {
    pub sort: PhotoSort,
    pub owner: Option<i64>,
    pub creator: Option<i64>,
    pub tag: Option<String>,
}

impl Api {
    /// `GET /api/photos`: one page after `cursor`.
    pub async fn feed(
        &self,
        query: &FeedQuery,
        cursor: Option<&str>,
    ) -> Result<PhotoPage, ApiFailure> {
        let mut params = vec![(
            "sort",
            match query.sort {
                PhotoSort::New => "new".to_owned(),
                PhotoSort::Popular => "popular".to_owned(),
            },
        )];
        if let Some(owner) = query.owner {
            params.push(("owner", owner.to_string()));
        }
        if let Some(creator) = query.creator {
            params.push(("creator", creator.to_string()));
        }
        if let Some(tag) = &query.tag {
            params.push(("tag", tag.clone()));
        }
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor.to_owned()));
        }
        let request = Request::get("/api/photos")
            .query(params.iter().map(|(key, value)| (*key, value.as_str())));
        receive(self.authorized(request)).await
    }

    /// `GET /api/photos/{id}`.
    pub async fn photo(&self, id: i64) -> Result<Photo, ApiFailure> {
        receive(self.authorized(Request::get(&format!("/api/photos/{id}")))).await
    }

    /// `PATCH /api/photos/{id}`.
    pub async fn update_photo(
        &self,
        id: i64,
        change: &UpdatePhotoRequest,
    ) -> Result<Photo, ApiFailure> {
        send(
            self.authorized(Request::patch(&format!("/api/photos/{id}"))),
            change,
        )
        .await
    }

    /// `DELETE /api/photos/{id}`.
    pub async fn delete_photo(&self, id: i64) -> Result<(), ApiFailure> {
        expect_nothing(self.authorized(Request::delete(&format!("/api/photos/{id}")))).await
    }

    /// `PUT` or `DELETE /api/photos/{id}/favorite`.
    pub async fn set_favorite(&self, id: i64, favorite: bool) -> Result<Photo, ApiFailure> {
        let url = format!("/api/photos/{id}/favorite");
        let request = if favorite {
            Request::put(&url)
        } else {
            Request::delete(&url)
        };
        receive(self.authorized(request)).await
    }

    /// `GET /api/me/favorites`.
    pub async fn my_favorites(&self) -> Result<Vec<Photo>, ApiFailure> {
        receive(self.authorized(Request::get("/api/me/favorites"))).await
    }

    /// `GET /api/search?q=`.
    pub async fn search(&self, query: &str) -> Result<SearchResults, ApiFailure> {
        receive(self.authorized(Request::get("/api/search").query([("q", query)]))).await
    }

    /// `POST /api/photos`, reporting the share of bytes sent (0.0 to 1.0) to `progress`.
    pub async fn upload(
        &self,
        form: FormData,
        progress: Callback<f64>,
    ) -> Result<Uploaded, ApiFailure> {
        upload(self.token.as_deref(), form, progress).await
    }
}

/// How an upload ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Uploaded {
    Created(Box<Photo>),
    /// These bytes were already in the gallery (as this photo, unless its owner hides it).
    Duplicate(Option<Box<Photo>>),
}

/// The upload through XMLHttpRequest, whose upload progress events fetch does not have.
async fn upload(
    token: Option<&str>,
    form: FormData,
    progress: Callback<f64>,
) -> Result<Uploaded, ApiFailure> {
    let xhr = XmlHttpRequest::new().map_err(|_| ApiFailure::Network)?;
    xhr.open("POST", "/api/photos")
        .map_err(|_| ApiFailure::Network)?;
    if let Some(token) = token {
        xhr.set_request_header("Authorization", &format!("Bearer {token}"))
            .map_err(|_| ApiFailure::Network)?;
    }

    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        if event.length_computable() && event.total() > 0.0 {
            progress.emit(event.loaded() / event.total());
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    // Settles when the request ends, one way or the other.
    let mut settle: Option<(js_sys::Function, js_sys::Function)> = None;
    let done = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject) = settle.expect("the promise executor runs at once");
    let on_load = Closure::<dyn FnMut()>::new(move || {
        let _ = resolve.call0(&JsValue::NULL);
    });
    let on_error = Closure::<dyn FnMut()>::new(move || {
        let _ = reject.call0(&JsValue::NULL);
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    xhr.send_with_opt_form_data(Some(&form))
        .map_err(|_| ApiFailure::Network)?;
    let finished = wasm_bindgen_futures::JsFuture::from(done).await;
    drop((on_progress, on_load, on_error));
    finished.map_err(|_| ApiFailure::Network)?;

    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    match status {
        201 => serde_json::from_str(&text)
            .map(|photo| Uploaded::Created(Box::new(photo)))
            .map_err(|_| ApiFailure::Decode),
        409 => serde_json::from_str::<DuplicatePhoto>(&text)
            .map(|duplicate| Uploaded::Duplicate(duplicate.photo.map(Box::new)))
            .map_err(|_| ApiFailure::Decode),
        _ => Err(ApiFailure::Status {
            status,
            body: serde_json::from_str::<ErrorBody>(&text).ok(),
        }),
    }
}
