//! From uploaded bytes to the files the gallery serves: format detection from the bytes,
//! pixel-flood checks on the header before any decoding, EXIF orientation applied, every
//! kind of metadata dropped, a thumbnail, a preview and a blurhash placeholder. Each file
//! comes out with its store name (the SHA-256 of its bytes), computed here once.
//!
//! Served files are re-encoded from pixels, with two exceptions that keep the uploaded image
//! data and nothing else: a GIF's frames are copied, still compressed, into a new file that
//! carries only their timing and looping; an upright grey or YCbCr JPEG is copied segment by
//! segment without its metadata segments (no second lossy encoding, and none of its cost).
//! The sizes are made with `fast_image_resize` (SIMD).
//!
//! Synchronous and CPU-bound: call it on a blocking thread.

use std::{
    fs::File,
    io::{BufReader, Cursor, Read},
    path::Path,
};

use super::storage::MediaStore;

use fast_image_resize::{ResizeAlg, ResizeOptions, Resizer};
use image::{
    DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, codecs::jpeg::JpegEncoder,
    imageops::FilterType,
};

/// The long side of a thumbnail (grid cells) and of a preview (the photo page), in pixels.
pub const THUMBNAIL_SIDE: u32 = 400;
pub const PREVIEW_SIDE: u32 = 1600;

/// JPEG quality of the re-encoded original and of the derived images.
const ORIGINAL_QUALITY: u8 = 92;
const DERIVED_QUALITY: u8 = 82;

/// Decoders may allocate at most this much (an image within the pixel limit needs
/// 40 MP × 4 bytes = 160 MB decoded, plus working space).
const MAX_DECODER_ALLOCATION: u64 = 512 * 1024 * 1024;

/// What uploads may be.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub max_pixels: u64,
    pub max_side: u32,
    pub max_frames: u32,
}

/// The image formats the gallery takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    WebP,
}

impl Format {
    /// The format from the first bytes of a file (its magic number), never from its name or
    /// declared type.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Some(Format::Gif)
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else {
            None
        }
    }

    /// The name stored in the database and shown in the API.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::WebP => "webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
            Format::Gif => ImageFormat::Gif,
            Format::WebP => ImageFormat::WebP,
        }
    }
}

/// Why an upload cannot become a photo.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the file is not a JPEG, PNG, GIF or WebP image")]
    Unsupported,
    #[error("the image is too large: {0}")]
    TooLarge(String),
    #[error("the image cannot be decoded: {0}")]
    Corrupt(String),
    #[error("cannot read the uploaded file: {0}")]
    Io(#[from] std::io::Error),
}

/// One file to serve.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// Its name in the store: the SHA-256 of `bytes` and the extension.
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Encoded {
    fn new(bytes: Vec<u8>, extension: &str) -> Self {
        Self {
            name: MediaStore::name_of(&bytes, extension),
            bytes,
        }
    }
}

/// Everything made from one upload.
#[derive(Debug)]
pub struct Processed {
    pub format: Format,
    /// Upright dimensions (after EXIF orientation).
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub original: Encoded,
    pub preview: Encoded,
    pub thumbnail: Encoded,
    pub placeholder: String,
}

impl Processed {
    /// Every file to store.
    pub fn files(&self) -> [&Encoded; 3] {
        [&self.original, &self.preview, &self.thumbnail]
    }
}

/// Processes the upload at `path`, refusing it as early as possible.
pub fn process(path: &Path, limits: UploadLimits) -> Result<Processed, PipelineError> {
    let mut head = [0u8; 16];
    let read = File::open(path)?.read(&mut head)?;
    let format = Format::sniff(&head[..read]).ok_or(PipelineError::Unsupported)?;
    let jpeg = match format {
        Format::Jpeg => Some(std::fs::read(path)?),
        _ => None,
    };
    if jpeg.as_deref().is_some_and(|jpeg| !has_end_of_image(jpeg)) {
        return Err(PipelineError::Corrupt("the JPEG is truncated".into()));
    }

    // Header only: dimensions (and for GIF, the frame count) before any pixel is decoded.
    let mut reader =
        ImageReader::with_format(BufReader::new(File::open(path)?), format.image_format());
    reader.limits(decoder_limits(limits));
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    check_size(width, height, limits)?;
    // A GIF's frames are checked (and copied without metadata) before any is decoded.
    let gif = match format {
        Format::Gif => Some(rewrite_gif(path, limits.max_frames)?),
        _ => None,
    };
    let frames = gif.as_ref().map_or(1, |gif| gif.frames);

    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());

    let upright = orientation == image::metadata::Orientation::NoTransforms;
    let original = match (gif, jpeg) {
        (Some(gif), _) => Encoded::new(gif.bytes, "gif"),
        (None, Some(jpeg)) if upright => match without_metadata(&jpeg) {
            Some(stripped) => Encoded::new(stripped, "jpg"),
            None => encode(&image, format, ORIGINAL_QUALITY)?,
        },
        _ => encode(&image, format, ORIGINAL_QUALITY)?,
    };
    let derived = derived_format(&image);
    let preview_image = shrink(&image, PREVIEW_SIDE);
    drop(image);
    let preview = encode(&preview_image, derived, DERIVED_QUALITY)?;
    // From the preview, not the full image: the same result for a fraction of the work.
    let thumbnail_image = shrink(&preview_image, THUMBNAIL_SIDE);
    let thumbnail = encode(&thumbnail_image, derived, DERIVED_QUALITY)?;
    let placeholder = blurhash_of(&thumbnail_image);

    Ok(Processed {
        format,
        width,
        height,
        frames,
        original,
        preview,
        thumbnail,
        placeholder,
    })
}

/// Whether a JPEG has its end-of-image marker after its image data. The decoder would
/// quietly paint a truncated file's missing part grey. The segments before the first scan are
/// skipped by their lengths (an EXIF thumbnail there has an end marker of its own); inside
/// the compressed data 0xFF is always followed by 0x00 or a restart marker, so `FF D9` after
/// the scan starts can only be the real end.
fn has_end_of_image(bytes: &[u8]) -> bool {
    let mut at = 2; // past the start-of-image marker
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return false;
        }
        match bytes[at + 1] {
            0xFF => at += 1, // fill byte
            0xDA => return bytes[at..].windows(2).any(|pair| pair == [0xFF, 0xD9]),
            _ => at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])),
        }
    }
    false
}

/// A JPEG's own segments without its metadata: every APPn segment but JFIF's (APP0: pixel
/// density) and Adobe's (APP14: how to read the colour channels), and every comment, go —
/// EXIF (location, camera, the embedded thumbnail), XMP, ICC profiles, maker notes — and so
/// does anything after the end-of-image marker. The image data is copied as it is. `None`
/// when the file should rather be re-encoded: not one or three colour components (CMYK), or
/// its structure is not what [`has_end_of_image`] already accepted.
fn without_metadata(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut kept = Vec::with_capacity(bytes.len());
    kept.extend_from_slice(&bytes[..2]);
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            0xFF => {
                at += 1;
                continue;
            }
            0xD9 => {
                kept.extend_from_slice(&[0xFF, 0xD9]);
                return Some(kept);
            }
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let segment = bytes.get(at..at + 2 + length)?;
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame && !matches!(segment.get(9), Some(1 | 3)) {
            return None;
        }
        let metadata = match marker {
            0xE0 => !segment[4..].starts_with(b"JFIF\0"),
            0xEE => !segment[4..].starts_with(b"Adobe"),
            0xE1..=0xEF | 0xFE => true,
            _ => false,
        };
        if !metadata {
            kept.extend_from_slice(segment);
        }
        at += 2 + length;
        if marker == 0xDA {
            // The compressed data of the scan, up to the next marker: in it 0xFF is followed
            // only by a stuffed 0x00 or a restart marker.
            let start = at;
            while at + 1 < bytes.len()
                && !(bytes[at] == 0xFF
                    && bytes[at + 1] != 0x00
                    && !(0xD0..=0xD7).contains(&bytes[at + 1]))
            {
                at += 1;
            }
            kept.extend_from_slice(&bytes[start..at]);
        }
    }
}

fn decoder_limits(limits: UploadLimits) -> Limits {
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    decoder_limits.max_alloc = Some(MAX_DECODER_ALLOCATION);
    decoder_limits
}

fn check_size(width: u32, height: u32, limits: UploadLimits) -> Result<(), PipelineError> {
    if width == 0 || height == 0 {
        return Err(PipelineError::Corrupt("the image has no pixels".into()));
    }
    if width > limits.max_side || height > limits.max_side {
        return Err(PipelineError::TooLarge(format!(
            "{width}×{height} px; at most {} px a side",
            limits.max_side
        )));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(PipelineError::TooLarge(format!(
            "{pixels} pixels; at most {}",
            limits.max_pixels
        )));
    }
    Ok(())
}

/// All frames of an animation together may hold at most this many pixels: each is decoded
/// in turn by whoever views it.
const MAX_ANIMATION_PIXELS: u64 = 400_000_000;

/// A GIF copied frame by frame.
struct RewrittenGif {
    bytes: Vec<u8>,
    frames: u32,
}

/// Copies a GIF's frames, still LZW-compressed, with their palettes, positions, timing and
/// disposal, and its looping, into a new GIF; comments, XMP, ICC profiles and every other
/// block are left behind. Refuses more than `max_frames` frames, a frame outside the image,
/// and animations that add up to a pixel flood, without decompressing any frame.
fn rewrite_gif(path: &Path, max_frames: u32) -> Result<RewrittenGif, PipelineError> {
    let broken = |error: &dyn std::fmt::Display| PipelineError::Corrupt(error.to_string());
    let mut options = gif::DecodeOptions::new();
    options.skip_frame_decoding(true);
    let mut decoder = options
        .read_info(BufReader::new(File::open(path)?))
        .map_err(|error| broken(&error))?;
    let (screen_width, screen_height) = (decoder.width(), decoder.height());
    let global_palette = decoder.global_palette().unwrap_or_default().to_vec();
    let mut encoder = gif::Encoder::new(Vec::new(), screen_width, screen_height, &global_palette)
        .map_err(|error| broken(&error))?;
    let mut frames = 0;
    let mut pixels = 0u64;
    while let Some(frame) = decoder.read_next_frame().map_err(|error| broken(&error))? {
        // Owned, so the decoder can be asked about the looping block below.
        let frame = frame.clone();
        frames += 1;
        if frames > max_frames {
            return Err(PipelineError::TooLarge(format!(
                "more than {max_frames} frames"
            )));
        }
        let right = u32::from(frame.left) + u32::from(frame.width);
        let bottom = u32::from(frame.top) + u32::from(frame.height);
        if right > u32::from(screen_width) || bottom > u32::from(screen_height) {
            return Err(PipelineError::Corrupt(
                "a frame lies outside the image".into(),
            ));
        }
        pixels += u64::from(screen_width) * u64::from(screen_height);
        if pixels > MAX_ANIMATION_PIXELS {
            return Err(PipelineError::TooLarge(format!(
                "the animation has more than {MAX_ANIMATION_PIXELS} pixels in all"
            )));
        }
        if frames == 1 {
            // The looping block stands before the first frame (that is where viewers look),
            // and the decoder has read it by the time it reaches that frame.
            encoder
                .set_repeat(decoder.repeat())
                .map_err(|error| broken(&error))?;
        }
        encoder
            .write_lzw_pre_encoded_frame(&frame)
            .map_err(|error| broken(&error))?;
    }
    let bytes = encoder.into_inner().map_err(|error| broken(&error))?;
    Ok(RewrittenGif { bytes, frames })
}

fn corrupt(error: image::ImageError) -> PipelineError {
    match error {
        image::ImageError::Limits(limit) => PipelineError::TooLarge(limit.to_string()),
        image::ImageError::Unsupported(_) => PipelineError::Unsupported,
        other => PipelineError::Corrupt(other.to_string()),
    }
}

/// Scales down so the long side is at most `side`; never scales up.
fn shrink(image: &DynamicImage, side: u32) -> DynamicImage {
    let (width, height) = (image.width(), image.height());
    if width <= side && height <= side {
        return image.clone();
    }
    let scale = f64::from(side) / f64::from(width.max(height));
    let fitted = |length: u32| ((f64::from(length) * scale).round() as u32).clamp(1, side);
    let mut shrunk = DynamicImage::new(fitted(width), fitted(height), image.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(
        fast_image_resize::FilterType::CatmullRom,
    ));
    match Resizer::new().resize(image, &mut shrunk, &options) {
        Ok(()) => shrunk,
        // A pixel type the SIMD resizer does not take (32-bit float): the image crate's own.
        Err(_) => image.resize(side, side, FilterType::CatmullRom),
    }
}

/// Derived images: JPEG, unless some pixel is actually transparent (then PNG). Many images
/// carry an alpha channel that is opaque everywhere.
fn derived_format(image: &DynamicImage) -> Format {
    let transparent =
        image.color().has_alpha() && image.to_rgba8().pixels().any(|pixel| pixel[3] < u8::MAX);
    if transparent {
        Format::Png
    } else {
        Format::Jpeg
    }
}

fn encode(image: &DynamicImage, format: Format, quality: u8) -> Result<Encoded, PipelineError> {
    let mut bytes = Vec::new();
    let extension = match format {
        Format::Jpeg => {
            let rgb = image.to_rgb8();
            JpegEncoder::new_with_quality(&mut bytes, quality)
                .encode_image(&rgb)
                .map_err(corrupt)?;
            "jpg"
        }
        Format::Png => {
            image
                .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
                .map_err(corrupt)?;
            "png"
        }
        Format::WebP => {
            // The image crate encodes WebP losslessly (and without metadata).
            image
                .to_rgba8()
                .write_to(&mut Cursor::new(&mut bytes), ImageFormat::WebP)
                .map_err(corrupt)?;
            "webp"
        }
        Format::Gif => unreachable!("GIFs are rewritten, not re-encoded"),
    };
    Ok(Encoded::new(bytes, extension))
}

/// A blurhash of a small rendition: 4×3 components are enough for a placeholder.
fn blurhash_of(image: &DynamicImage) -> String {
    let small = image.thumbnail(32, 32).to_rgba8();
    blurhash::encode(4, 3, small.width(), small.height(), small.as_raw()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A 1×1 GIF with a comment, an XMP application block, a NETSCAPE loop block and two
    /// frames.
    fn gif_with_metadata() -> Vec<u8> {
        let mut gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
        gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]); // 2-colour global palette
        gif.extend_from_slice(b"\x21\xFE\x0Bsecret note\x00"); // comment
        gif.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP\x05<gps>\x00"); // XMP
        gif.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00"); // loop forever
        for _ in 0..2 {
            gif.extend_from_slice(b"\x21\xF9\x04\x00\x0A\x00\x00\x00"); // 100 ms a frame
            gif.extend_from_slice(b"\x2C\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00");
        }
        gif.push(0x3B);
        gif
    }

    fn staged(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn a_gif_loses_its_metadata_and_keeps_its_animation() {
        let file = staged(&gif_with_metadata());
        let rewritten = rewrite_gif(file.path(), 300).unwrap();
        assert_eq!(rewritten.frames, 2);
        let text = String::from_utf8_lossy(&rewritten.bytes);
        assert!(!text.contains("secret note"));
        assert!(!text.contains("XMP"));
        assert!(text.contains("NETSCAPE2.0"), "the loop survives");

        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(rewritten.bytes.as_slice()).unwrap();
        assert_eq!(decoder.repeat(), gif::Repeat::Infinite);
        let mut delays = Vec::new();
        while let Some(frame) = decoder.read_next_frame().unwrap() {
            delays.push(frame.delay);
            assert_eq!(
                &frame.buffer[..],
                &[0, 0, 0, 255],
                "the pixel is the black one"
            );
        }
        assert_eq!(delays, vec![10, 10]);
    }

    /// A JPEG from the image crate with an EXIF segment, an ICC profile, a comment and bytes
    /// after its end.
    fn jpeg_with_metadata() -> (Vec<u8>, Vec<u8>) {
        let image =
            image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
        let mut plain = Vec::new();
        JpegEncoder::new_with_quality(&mut plain, 90)
            .encode_image(&image)
            .unwrap();
        let segment = |marker: u8, body: &[u8]| {
            let mut segment = vec![0xFF, marker];
            segment.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            segment.extend_from_slice(body);
            segment
        };
        let mut with = plain[..2].to_vec();
        with.extend(segment(0xE1, b"Exif\0\0MM\0\x2A secret GPS"));
        with.extend(segment(0xE2, b"ICC_PROFILE\0 secret profile"));
        with.extend(segment(0xFE, b"secret comment"));
        with.extend_from_slice(&plain[2..]);
        with.extend_from_slice(b"secret trailer");
        (plain, with)
    }

    #[test]
    fn an_upright_jpeg_keeps_its_image_data_and_loses_its_metadata() {
        let (plain, with) = jpeg_with_metadata();
        let stripped = without_metadata(&with).unwrap();
        assert!(!String::from_utf8_lossy(&stripped).contains("secret"));
        assert!(stripped.starts_with(&[0xFF, 0xD8]) && stripped.ends_with(&[0xFF, 0xD9]));
        // The encoder's own segments (JFIF included) and the scan are copied byte for byte.
        assert_eq!(stripped, plain);
        let decoded = image::load_from_memory(&stripped).unwrap().to_rgb8();
        assert_eq!(decoded, image::load_from_memory(&plain).unwrap().to_rgb8());
    }

    #[test]
    fn jpegs_that_cannot_be_copied_are_left_to_re_encoding() {
        let (plain, _) = jpeg_with_metadata();
        // Cut inside the scan: no end marker.
        assert!(without_metadata(&plain[..plain.len() - 10]).is_none());
        // Four components (CMYK): the start-of-frame segment's component count.
        let mut cmyk = plain.clone();
        let frame = cmyk
            .windows(2)
            .position(|pair| pair == [0xFF, 0xC0])
            .unwrap();
        cmyk[frame + 9] = 4;
        assert!(without_metadata(&cmyk).is_none());
        // Not a segment where one should start.
        assert!(without_metadata(&[0xFF, 0xD8, 0x00, 0x01]).is_none());
    }

    #[test]
    fn broken_and_overlong_gifs_are_refused() {
        let gif = gif_with_metadata();
        for cut in [3, 10, 20, gif.len() - 20] {
            let file = staged(&gif[..cut]);
            assert!(rewrite_gif(file.path(), 300).is_err(), "cut at {cut}");
        }
        let file = staged(&gif);
        assert!(matches!(
            rewrite_gif(file.path(), 1),
            Err(PipelineError::TooLarge(_))
        ));
    }
}
