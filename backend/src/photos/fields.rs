//! The rules of a photo's describing fields: title, description, tags.

use super::PhotoError;

/// Most characters of a title, a description, a tag; most tags.
const MAX_TITLE_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 2000;
const MAX_TAG_CHARS: usize = 40;
const MAX_TAGS: usize = 20;

/// Tags from a comma-separated field: trimmed, empty ones dropped, duplicates removed
/// (case-insensitively, keeping the first spelling).
pub fn parse_tags(field: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in field
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
    {
        if !tags
            .iter()
            .any(|seen| seen.to_lowercase() == tag.to_lowercase())
        {
            tags.push(tag.to_owned());
        }
    }
    tags
}

/// Checks the fields given (absent ones are not being changed).
pub fn check(
    title: Option<&str>,
    description: Option<&str>,
    tags: Option<&[String]>,
) -> Result<(), PhotoError> {
    let invalid = |message: String| Err(PhotoError::InvalidField(message));
    if title.is_some_and(|title| title.chars().count() > MAX_TITLE_CHARS) {
        return invalid(format!("a title is at most {MAX_TITLE_CHARS} characters"));
    }
    if description.is_some_and(|description| description.chars().count() > MAX_DESCRIPTION_CHARS) {
        return invalid(format!(
            "a description is at most {MAX_DESCRIPTION_CHARS} characters"
        ));
    }
    if let Some(tags) = tags {
        if tags.len() > MAX_TAGS {
            return invalid(format!("at most {MAX_TAGS} tags"));
        }
        if tags
            .iter()
            .any(|tag| tag.chars().count() > MAX_TAG_CHARS || tag.contains(','))
        {
            return invalid(format!(
                "a tag is at most {MAX_TAG_CHARS} characters, without commas"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_and_deduplicated_case_insensitively() {
        assert_eq!(
            parse_tags(" Sea, sunset ,, sea,SUNSET, пляж "),
            vec!["Sea", "sunset", "пляж"]
        );
    }

    #[test]
    fn lengths_count_characters() {
        assert!(check(Some(&"я".repeat(200)), None, None).is_ok());
        assert!(check(Some(&"я".repeat(201)), None, None).is_err());
        let tags: Vec<String> = (0..21).map(|n| format!("t{n}")).collect();
        assert!(check(None, None, Some(&tags)).is_err());
    }
}
