//! Removes metadata from a GIF without touching its frames.
//!
//! GIFs carry comments and application blocks (XMP, ICC profiles) beside their images.
//! Re-encoding an animation would cost the decoded size of every frame, so instead the file
//! is rewritten block by block, keeping the image data, the frame timing (graphic control)
//! and the looping block (NETSCAPE2.0 / ANIMEXTS1.0) and dropping everything else. Written
//! by hand: no maintained crate does this for GIF.

/// Why a GIF could not be rewritten.
#[derive(Debug, thiserror::Error)]
#[error("malformed GIF: {0}")]
pub struct MalformedGif(&'static str);

const EXTENSION: u8 = 0x21;
const IMAGE: u8 = 0x2C;
const TRAILER: u8 = 0x3B;
const GRAPHIC_CONTROL: u8 = 0xF9;
const APPLICATION: u8 = 0xFF;
/// Application blocks that only say how an animation loops.
const LOOPING_APPLICATIONS: [&[u8]; 2] = [b"NETSCAPE2.0", b"ANIMEXTS1.0"];

/// The same GIF without comment, plain-text and non-looping application blocks.
pub fn strip_metadata(input: &[u8]) -> Result<Vec<u8>, MalformedGif> {
    let mut reader = Reader { input, at: 0 };
    let mut output = Vec::with_capacity(input.len());

    let header = reader.take(6, "no header")?;
    if header != b"GIF87a" && header != b"GIF89a" {
        return Err(MalformedGif("not a GIF"));
    }
    output.extend_from_slice(header);
    let screen = reader.take(7, "no screen descriptor")?;
    output.extend_from_slice(screen);
    output.extend_from_slice(reader.take(color_table_len(screen[4]), "truncated global palette")?);

    loop {
        match reader.take(1, "missing trailer")?[0] {
            TRAILER => {
                output.push(TRAILER);
                return Ok(output);
            }
            IMAGE => {
                let descriptor = reader.take(9, "truncated image descriptor")?;
                output.push(IMAGE);
                output.extend_from_slice(descriptor);
                output.extend_from_slice(
                    reader.take(color_table_len(descriptor[8]), "truncated local palette")?,
                );
                output.extend_from_slice(reader.take(1, "no LZW code size")?);
                output.extend_from_slice(reader.sub_blocks()?);
            }
            EXTENSION => {
                let label = reader.take(1, "no extension label")?[0];
                let start = reader.at;
                let blocks = reader.sub_blocks()?;
                let keep = match label {
                    GRAPHIC_CONTROL => true,
                    APPLICATION => {
                        let identifier = input.get(start + 1..start + 12).unwrap_or_default();
                        LOOPING_APPLICATIONS.contains(&identifier)
                    }
                    _ => false,
                };
                if keep {
                    output.push(EXTENSION);
                    output.push(label);
                    output.extend_from_slice(blocks);
                }
            }
            _ => return Err(MalformedGif("unknown block")),
        }
    }
}

/// Bytes of the colour table a packed field announces (none if its top bit is clear).
fn color_table_len(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 * (1 << ((packed & 0x07) + 1))
    }
}

struct Reader<'a> {
    input: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MalformedGif> {
        let bytes = self
            .input
            .get(self.at..self.at + n)
            .ok_or(MalformedGif(what))?;
        self.at += n;
        Ok(bytes)
    }

    /// A run of length-prefixed sub-blocks up to and including the empty one that ends it.
    fn sub_blocks(&mut self) -> Result<&'a [u8], MalformedGif> {
        let start = self.at;
        loop {
            let len = self.take(1, "truncated data")?[0] as usize;
            if len == 0 {
                return Ok(&self.input[start..self.at]);
            }
            self.take(len, "truncated data")?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 GIF with a comment, an XMP application block and a NETSCAPE loop block.
    fn gif_with_metadata() -> Vec<u8> {
        let mut gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
        gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]); // 2-colour global palette
        gif.extend_from_slice(b"\x21\xFE\x0Bsecret note\x00"); // comment
        gif.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP\x05<gps>\x00"); // XMP
        gif.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00"); // loop forever
        gif.extend_from_slice(b"\x21\xF9\x04\x00\x0A\x00\x00\x00"); // graphic control
        gif.extend_from_slice(b"\x2C\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00");
        gif.push(TRAILER);
        gif
    }

    #[test]
    fn metadata_goes_and_the_image_stays() {
        let cleaned = strip_metadata(&gif_with_metadata()).unwrap();
        let text = String::from_utf8_lossy(&cleaned);
        assert!(!text.contains("secret note"));
        assert!(!text.contains("XMP"));
        assert!(text.contains("NETSCAPE2.0"));
        assert!(cleaned.ends_with(b"\x02\x02\x44\x01\x00\x3B"));
        assert!(image::load_from_memory(&cleaned).is_ok());
    }

    #[test]
    fn truncated_input_is_refused() {
        let gif = gif_with_metadata();
        for cut in [3, 10, 20, gif.len() - 1] {
            assert!(strip_metadata(&gif[..cut]).is_err(), "cut at {cut}");
        }
    }
}
