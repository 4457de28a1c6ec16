//! An uploaded file through the whole image pipeline (sniffing, header limits, decoding,
//! resizing, re-encoding), with small limits so that a case stays fast: refused or
//! processed, never a panic.
#![no_main]

use std::io::Write;

use gallery::photos::pipeline::{self, UploadLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(input).expect("the case is written");
    let limits = UploadLimits {
        max_pixels: 1_000_000,
        max_side: 2_000,
        max_frames: 20,
    };
    let _ = pipeline::process(file.path(), limits);
});
