//! Photo calls: the feed, one photo, editing, favorites, search, and the upload with
//! progress (through XMLHttpRequest: fetch cannot report upload progress).

use gallery_types::{
    DuplicatePhoto, ErrorBody, Photo, PhotoPage, PhotoSort, SearchResults, UpdatePhotoRequest,
};
use gloo_net::http::{Request, RequestBuilder};
use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{FormData, ProgressEvent, XmlHttpRequest};
use yew::Callback;

use super::{ApiFailure, bearer, expect_nothing, receive, send};

/// Which photos a feed shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedQuery {
    pub sort: PhotoSort,
    pub owner: Option<i64>,
    pub tag: Option<String>,
}

fn with_viewer(request: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(token) => request.header("Authorization", &bearer(token)),
        None => request,
    }
}

/// `GET /api/photos`: one page after `cursor`.
pub async fn feed(
    query: &FeedQuery,
    cursor: Option<&str>,
    token: Option<&str>,
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
    if let Some(tag) = &query.tag {
        params.push(("tag", tag.clone()));
    }
    if let Some(cursor) = cursor {
        params.push(("cursor", cursor.to_owned()));
    }
    let request =
        Request::get("/api/photos").query(params.iter().map(|(key, value)| (*key, value.as_str())));
    receive(with_viewer(request, token)).await
}

/// `GET /api/photos/{id}`.
pub async fn photo(id: i64, token: Option<&str>) -> Result<Photo, ApiFailure> {
    receive(with_viewer(
        Request::get(&format!("/api/photos/{id}")),
        token,
    ))
    .await
}

/// `PATCH /api/photos/{id}`.
pub async fn update(
    token: &str,
    id: i64,
    change: &UpdatePhotoRequest,
) -> Result<Photo, ApiFailure> {
    send(
        Request::patch(&format!("/api/photos/{id}")).header("Authorization", &bearer(token)),
        change,
    )
    .await
}

/// `DELETE /api/photos/{id}`.
pub async fn delete(token: &str, id: i64) -> Result<(), ApiFailure> {
    expect_nothing(
        Request::delete(&format!("/api/photos/{id}"))
            .header("Authorization", &bearer(token))
            .send()
            .await,
    )
    .await
}

/// `PUT` or `DELETE /api/photos/{id}/favorite`.
pub async fn set_favorite(token: &str, id: i64, favorite: bool) -> Result<Photo, ApiFailure> {
    let url = format!("/api/photos/{id}/favorite");
    let request = if favorite {
        Request::put(&url)
    } else {
        Request::delete(&url)
    };
    receive(request.header("Authorization", &bearer(token))).await
}

/// `GET /api/me/favorites`.
pub async fn my_favorites(token: &str) -> Result<Vec<Photo>, ApiFailure> {
    receive(Request::get("/api/me/favorites").header("Authorization", &bearer(token))).await
}

/// `GET /api/search?q=`.
pub async fn search(query: &str, token: Option<&str>) -> Result<SearchResults, ApiFailure> {
    receive(with_viewer(
        Request::get("/api/search").query([("q", query)]),
        token,
    ))
    .await
}

/// How an upload ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Uploaded {
    Created(Box<Photo>),
    /// These bytes were already in the gallery (as this photo, unless its owner hides it).
    Duplicate(Option<Box<Photo>>),
}

/// `POST /api/photos`, reporting the share of bytes sent (0.0 to 1.0) to `progress`.
pub async fn upload(
    token: &str,
    form: FormData,
    progress: Callback<f64>,
) -> Result<Uploaded, ApiFailure> {
    let xhr = XmlHttpRequest::new().map_err(|_| ApiFailure::Network)?;
    xhr.open("POST", "/api/photos")
        .map_err(|_| ApiFailure::Network)?;
    xhr.set_request_header("Authorization", &bearer(token))
        .map_err(|_| ApiFailure::Network)?;

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
