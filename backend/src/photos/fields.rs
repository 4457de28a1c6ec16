//! The rules of a photo's describing fields: title, description, tags. The bounds are the
//! ones the OpenAPI spec states ([`PhotoTitle`], [`PhotoDescription`], [`Tag`], [`Tags`]);
//! they apply to the text as sent, before it is tidied.

use gallery_types::{PhotoDescription, PhotoTitle, Tag, Tags};

use super::PhotoError;

/// Describing fields that passed the rules, tidied: texts trimmed, tags trimmed with empty
/// ones dropped and duplicates removed (case-insensitively, keeping the first spelling).
/// Absent fields are not being changed.
#[derive(Debug, Default)]
pub struct PhotoFields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// Checks the fields as sent and tidies them.
pub fn accept(
    title: Option<&str>,
    description: Option<&str>,
    tags: Option<&[&str]>,
) -> Result<PhotoFields, PhotoError> {
    let invalid = |message: String| Err(PhotoError::InvalidField(message));
    if title.is_some_and(|title| title.chars().count() > PhotoTitle::MAX_CHARS) {
        return invalid(format!(
            "a title is at most {} characters",
            PhotoTitle::MAX_CHARS
        ));
    }
    if description
        .is_some_and(|description| description.chars().count() > PhotoDescription::MAX_CHARS)
    {
        return invalid(format!(
            "a description is at most {} characters",
            PhotoDescription::MAX_CHARS
        ));
    }
    if let Some(tags) = tags {
        if tags.len() > Tags::MAX_COUNT {
            return invalid(format!("at most {} tags", Tags::MAX_COUNT));
        }
        if tags
            .iter()
            .any(|tag| tag.chars().count() > Tag::MAX_CHARS || tag.contains(','))
        {
            return invalid(format!(
                "a tag is at most {} characters, without commas",
                Tag::MAX_CHARS
            ));
        }
    }
    Ok(PhotoFields {
        title: title.map(|title| title.trim().to_owned()),
        description: description.map(|description| description.trim().to_owned()),
        tags: tags.map(tidy_tags),
    })
}

/// The tags of a comma-separated field ([`gallery_types::TagsField`]), as sent: blank ones count too until
/// they are tidied away, as the field's pattern counts them.
pub fn split_tags(field: &str) -> Vec<&str> {
    field.split(',').collect()
}

fn tidy_tags(tags: &[&str]) -> Vec<String> {
    let mut tidy: Vec<String> = Vec::new();
    for tag in tags
        .iter()
        .map(|tag| tag.trim())
        .filter(|tag| !tag.is_empty())
    {
        if !tidy
            .iter()
            .any(|seen| seen.to_lowercase() == tag.to_lowercase())
        {
            tidy.push(tag.to_owned());
        }
    }
    tidy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_and_deduplicated_case_insensitively() {
        let tags = split_tags(" Sea, sunset ,, sea,SUNSET, пляж ");
        let fields = accept(None, None, Some(&tags)).unwrap();
        assert_eq!(fields.tags.unwrap(), vec!["Sea", "sunset", "пляж"]);
    }

    #[test]
    fn lengths_count_characters_as_sent() {
        assert!(accept(Some(&"я".repeat(200)), None, None).is_ok());
        assert!(accept(Some(&"я".repeat(201)), None, None).is_err());
        let padded = format!(" {} ", "я".repeat(199));
        assert!(accept(Some(&padded), None, None).is_err());
        let tags: Vec<String> = (0..21).map(|n| format!("t{n}")).collect();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        assert!(accept(None, None, Some(&tags)).is_err());
        assert!(accept(None, None, Some(&["a,b"])).is_err());
        let blanks = ",".repeat(20);
        assert!(
            accept(None, None, Some(&split_tags(&blanks))).is_err(),
            "21 tags"
        );
        assert!(accept(None, None, Some(&split_tags(&blanks[1..]))).is_ok());
    }
}
