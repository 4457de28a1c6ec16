//! Image files made in the tests, with the encoders and a small hand-written EXIF writer.

use std::io::Cursor;

use image::{
    Delay, DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage,
    codecs::{gif::GifEncoder, jpeg::JpegEncoder},
};

/// A `width`×`height` image: left half red, right half blue, plus a `seed`-dependent pixel
/// so that different seeds give different bytes.
pub fn two_tone(width: u32, height: u32, seed: u32) -> RgbImage {
    let mut image = RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    });
    image.put_pixel(
        seed % width,
        (seed / width) % height,
        Rgb([(seed % 251) as u8, 255, (seed % 13) as u8]),
    );
    image
}

/// Pseudo-random noise (a linear congruential sequence from `seed`): it does not compress.
pub fn noise(width: u32, height: u32, seed: u32) -> RgbImage {
    let mut state = u64::from(seed) | 1;
    RgbImage::from_fn(width, height, |_, _| {
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        };
        Rgb([next(), next(), next()])
    })
}

pub fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(image)
        .unwrap();
    bytes
}

pub fn png(image: &DynamicImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes
}

pub fn webp(image: &RgbaImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::WebP)
        .unwrap();
    bytes
}

/// An animated GIF of `frames` frames.
pub fn animated_gif(frames: u32, seed: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        for index in 0..frames {
            let shade = ((index * 60 + seed) % 255) as u8;
            let frame = RgbaImage::from_pixel(16, 16, Rgba([shade, 255 - shade, 90, 255]));
            encoder
                .encode_frame(Frame::from_parts(
                    frame,
                    0,
                    0,
                    Delay::from_numer_denom_ms(100, 1),
                ))
                .unwrap();
        }
    }
    bytes
}

/// The GPS latitude written into EXIF: 55° 45′ 21″ (three rationals), easy to find in bytes.
pub const GPS_LATITUDE: [u8; 24] = [
    0, 0, 0, 55, 0, 0, 0, 1, 0, 0, 0, 45, 0, 0, 0, 1, 0, 0, 0, 21, 0, 0, 0, 1,
];

/// A JPEG with an EXIF segment holding `orientation` and a GPS position.
pub fn jpeg_with_exif(image: &RgbImage, orientation: u16) -> Vec<u8> {
    let jpeg = jpeg(image);
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\x00\x2A\x00\x00\x00\x08"); // big-endian, IFD0 at 8
    // IFD0: orientation, GPS IFD pointer.
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1]);
    tiff.extend_from_slice(&38u32.to_be_bytes()); // GPS IFD right after IFD0
    tiff.extend_from_slice(&0u32.to_be_bytes());
    // GPS IFD: latitude ref "N", latitude (3 rationals at 68).
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[0, 2, 0, 5, 0, 0, 0, 3]);
    tiff.extend_from_slice(&68u32.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(tiff.len(), 68);
    tiff.extend_from_slice(&GPS_LATITUDE);

    let mut segment = b"Exif\x00\x00".to_vec();
    segment.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A tiny valid PNG whose header claims `width`×`height` (with a correct CRC).
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(&DynamicImage::ImageRgb8(RgbImage::new(1, 1)));
    // IHDR data starts at 16: width, height.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A GIF whose screen and only frame claim 65535×65535 pixels, in a few dozen bytes.
pub fn gif_bomb() -> Vec<u8> {
    let mut gif = b"GIF89a\xFF\xFF\xFF\xFF\x80\x00\x00".to_vec();
    gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    gif.extend_from_slice(b"\x2C\x00\x00\x00\x00\xFF\xFF\xFF\xFF\x00\x02\x02\x44\x01\x00\x3B");
    gif
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
