//! An upload form as a stranger may send it: any body, read as `multipart/form-data` the way
//! `POST /api/photos` reads it (each field at most once, the file staged to disk as it
//! streams), is taken or refused with an error, never a panic.
#![no_main]

use std::sync::LazyLock;

use gallery::{
    config::PhotoConfig,
    photos::{PhotosState, upload_form},
};
use libfuzzer_sys::fuzz_target;

static SCRATCH: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| tempfile::tempdir().expect("a scratch directory"));

static PHOTOS: LazyLock<PhotosState> = LazyLock::new(|| {
    let config = PhotoConfig {
        max_upload_mib: 1,
        max_megapixels: 1,
        max_side: 2_000,
        max_frames: 20,
        feed_cache_pages: 1024,
        decode_concurrency: 1,
        uploads_per_user: 1,
        storage_quota_mib: 1,
        upload_read_seconds: 5,
        decode_seconds: 5,
        sweep_grace_seconds: 900,
    };
    PhotosState::new(&config, SCRATCH.path()).expect("the photos state")
});

fuzz_target!(|input: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let request = poem::Request::builder()
        .method(poem::http::Method::POST)
        .content_type("multipart/form-data; boundary=fuzz")
        .body(input.to_vec());
    let (request, mut body) = request.split();
    let _ = runtime.block_on(upload_form::read_form(&request, &mut body, &PHOTOS));
});
