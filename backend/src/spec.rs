//! The OpenAPI document as served, and what else is read from it.
//!
//! poem-openapi generates the document from the operations; this completes it where the
//! generator cannot speak: request bodies refuse unknown fields (their handlers do), which
//! the schema says with `additionalProperties: false`; what no handler sees is listed (the
//! request guard refuses a NUL in any request with 400 and a body too large with 413, the
//! parser a body of another media type with 415); and a described or
//! nullable reference is written the way OpenAPI 3.0 tools read it. The finished document is served at
//! `/api/openapi.json` and shown by the Swagger UI, and it tells which methods each path
//! allows, for the `Allow` header of a 405.

use std::sync::Arc;

use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, StatusCode, header},
};
use serde_json::{Map, Value, json};

use crate::{csp, realtime, request_guard};

/// The finished document, and the paths and methods it lists.
pub struct ApiSpec {
    json: String,
    docs_html: String,
    docs_policy: String,
    paths: Vec<PathMethods>,
}

/// One path of the spec: its segments (`None` for a parameter) and the methods it allows.
struct PathMethods {
    segments: Vec<Option<String>>,
    allow: HeaderValue,
}

impl ApiSpec {
    /// Completes `generated` (poem-openapi's JSON) whose Swagger UI page is `docs_html`.
    pub fn new(generated: &str, docs_html: &str) -> Self {
        let mut document: Value =
            serde_json::from_str(generated).expect("poem-openapi generates JSON");
        refuse_unknown_request_fields(&mut document);
        document_request_guard(&mut document);
        document_event_seq(&mut document);
        tidy_references(&mut document);
        let json = serde_json::to_string_pretty(&document).expect("a JSON value serializes");
        // The page embeds the document as a JavaScript literal, exactly as generated.
        assert!(
            docs_html.contains(generated),
            "the Swagger UI page embeds the generated document"
        );
        let docs_html = docs_html.replacen(generated, &json, 1);
        let docs_policy = docs_content_security_policy(&docs_html);
        let paths = path_methods(&document);
        Self {
            json,
            docs_html,
            docs_policy,
            paths,
        }
    }

    /// The document, as JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The Swagger UI page showing the document.
    pub fn docs_html(&self) -> &str {
        &self.docs_html
    }

    /// The `Content-Security-Policy` of the Swagger UI page.
    pub fn docs_policy(&self) -> &str {
        &self.docs_policy
    }

    /// The `Allow` header for `path` (below `/api`), if the spec lists it.
    fn allow(&self, path: &str) -> Option<&HeaderValue> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.paths
            .iter()
            .filter(|candidate| candidate.matches(&segments))
            // The router prefers literal segments over parameters: so does this.
            .max_by_key(|candidate| candidate.segments.iter().flatten().count())
            .map(|candidate| &candidate.allow)
    }
}

impl PathMethods {
    fn matches(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(expected, actual)| match expected {
                    Some(literal) => literal == actual,
                    None => !actual.is_empty(),
                })
    }
}

/// The Swagger UI page runs its own inline scripts (allowed by hash) and styles, calls the API
/// of its own origin, and is framed by nobody.
fn docs_content_security_policy(docs_html: &str) -> String {
    let script_hashes = csp::inline_script_hashes(docs_html);
    format!(
        "default-src 'self'; script-src 'self'{script_hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Adds the answers no handler sees to every operation that does not list them: the request
/// guard's 400 to all; to those that take a body, the guard's 413 and poem-openapi's 415.
fn document_request_guard(document: &mut Value) {
    let error = |description: String| {
        json!({
            "description": description,
            "content": {
                "application/json; charset=utf-8": {
                    "schema": { "$ref": "#/components/schemas/ErrorBody" }
                }
            }
        })
    };
    let invalid_text =
        error("`invalid_text`: the path, query or body holds a NUL character.".to_owned());
    let too_large = error(format!(
        "`payload_too_large`: the body is larger than the server takes ({} KiB for JSON).",
        request_guard::MAX_JSON_BODY / 1024
    ));
    let wrong_type =
        error("`unsupported_media_type`: the body is not of the media type listed.".to_owned());
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in operation.values_mut() {
            let takes_body = operation.get("requestBody").is_some();
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            responses
                .entry("400")
                .or_insert_with(|| invalid_text.clone());
            if takes_body {
                responses.entry("413").or_insert_with(|| too_large.clone());
                responses.entry("415").or_insert_with(|| wrong_type.clone());
            }
        }
    }
}

/// Every successful `GET` answer carries `X-Event-Seq` ([`realtime::stamp_event_seq`]).
fn document_event_seq(document: &mut Value) {
    let header = json!({
        "description": "The sequence number of the newest event this answer reflects: open the socket (or poll `GET /api/events`) with `after` set to it to miss nothing that changes later.",
        "required": true,
        "schema": { "type": "integer", "format": "int64" }
    });
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for path in paths.values_mut() {
        let Some(responses) = path
            .pointer_mut("/get/responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            if status.starts_with('2')
                && let Some(response) = response.as_object_mut()
            {
                let headers = response.entry("headers").or_insert_with(|| json!({}));
                if let Some(headers) = headers.as_object_mut() {
                    headers
                        .entry(realtime::EVENT_SEQ_HEADER)
                        .or_insert_with(|| header.clone());
                }
            }
        }
    }
}

/// Keywords that only annotate a schema (they constrain nothing).
const ANNOTATIONS: [&str; 7] = [
    "description",
    "nullable",
    "title",
    "default",
    "example",
    "readOnly",
    "writeOnly",
];

/// poem-openapi writes a reference with a description (or nullable) as
/// `{"description": d, "allOf": [{"$ref": r}, {"description": d}]}`: an `allOf` whose other
/// members only annotate, which generators such as openapi-python-client refuse. The
/// annotations go to the wrapper, leaving OpenAPI 3.0's usual `{"allOf": [{"$ref": r}], …}`.
fn tidy_references(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(members)) = object.get_mut("allOf") {
                let only_annotates = |member: &Value| {
                    member.as_object().is_some_and(|member| {
                        member.keys().all(|key| ANNOTATIONS.contains(&key.as_str()))
                    })
                };
                let mut annotations = Map::new();
                members.retain(|member| {
                    if only_annotates(member) {
                        annotations.extend(member.as_object().cloned().unwrap_or_default());
                        false
                    } else {
                        true
                    }
                });
                for (key, annotation) in annotations {
                    object.entry(key).or_insert(annotation);
                }
            }
            object.values_mut().for_each(tidy_references);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy_references),
        _ => {}
    }
}

/// Sets `additionalProperties: false` on the schema of every request body.
fn refuse_unknown_request_fields(document: &mut Value) {
    let mut referenced = Vec::new();
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in operation.values_mut() {
            let contents = operation
                .get_mut("requestBody")
                .and_then(|body| body.get_mut("content"))
                .and_then(Value::as_object_mut);
            let Some(contents) = contents else {
                continue;
            };
            for schema in contents
                .values_mut()
                .filter_map(|content| content.get_mut("schema"))
            {
                match schema["$ref"].as_str() {
                    Some(reference) => referenced.push(reference.to_owned()),
                    None => close(schema),
                }
            }
        }
    }
    for reference in referenced {
        if let Some(schema) = document.pointer_mut(reference.trim_start_matches('#')) {
            close(schema);
        }
    }
}

fn close(schema: &mut Value) {
    if schema["type"] == "object" {
        schema["additionalProperties"] = Value::Bool(false);
    }
}

/// Each path's segments and its methods (with HEAD wherever GET is: the router answers it).
fn path_methods(document: &Value) -> Vec<PathMethods> {
    let empty = Map::new();
    let paths = document["paths"].as_object().unwrap_or(&empty);
    paths
        .iter()
        .map(|(path, item)| {
            let segments = path
                .trim_start_matches('/')
                .split('/')
                .map(|segment| {
                    let parameter = segment.starts_with('{') && segment.ends_with('}');
                    (!parameter).then(|| segment.to_owned())
                })
                .collect();
            let mut methods: Vec<String> = item
                .as_object()
                .unwrap_or(&empty)
                .keys()
                .map(|method| method.to_uppercase())
                .collect();
            if methods.iter().any(|method| method == "GET") {
                methods.push("HEAD".to_owned());
            }
            let allow =
                HeaderValue::from_str(&methods.join(", ")).expect("method names are header-safe");
            PathMethods { segments, allow }
        })
        .collect()
}

/// Middleware for the `/api` routes: a 405 names the methods the path allows (RFC 9110).
pub async fn allow_methods<E: Endpoint>(
    next: Arc<E>,
    request: Request,
    spec: &ApiSpec,
) -> poem::Result<Response> {
    let path = request
        .original_uri()
        .path()
        .strip_prefix("/api")
        .unwrap_or_default()
        .to_owned();
    let mut response = match next.call(request).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && let Some(allow) = spec.allow(&path)
    {
        response.headers_mut().insert(header::ALLOW, allow.clone());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERATED: &str = r##"{
  "openapi": "3.0.0",
  "paths": {
    "/photos": {
      "get": {"responses": {}},
      "post": {"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {}}}}}, "responses": {}}
    },
    "/photos/{id}": {
      "patch": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Change"}}}}, "responses": {"200": {"description": "Changed."}}}
    },
    "/photos/popular": {"get": {"responses": {}}}
  },
  "components": {"schemas": {
    "Change": {"type": "object", "properties": {}},
    "Photo": {"type": "object", "properties": {}}
  }}
}"##;

    fn spec() -> ApiSpec {
        ApiSpec::new(
            GENERATED,
            &format!("<script>let spec = {GENERATED};</script>"),
        )
    }

    #[test]
    fn request_bodies_refuse_unknown_fields_and_responses_are_left_alone() {
        let spec = spec();
        let document: Value = serde_json::from_str(spec.json()).unwrap();
        assert_eq!(
            document["components"]["schemas"]["Change"]["additionalProperties"],
            false
        );
        let form = &document["paths"]["/photos"]["post"]["requestBody"]["content"];
        assert_eq!(
            form["multipart/form-data"]["schema"]["additionalProperties"],
            false
        );
        assert!(document["components"]["schemas"]["Photo"]["additionalProperties"].is_null());
        assert!(
            document["paths"]["/photos"]["get"]
                .get("requestBody")
                .is_none(),
            "operations without a body stay without one"
        );
        assert!(
            spec.docs_html()
                .contains(r#""additionalProperties": false"#)
        );
        let responses = &document["paths"]["/photos/{id}"]["patch"]["responses"];
        assert_eq!(
            responses.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["200", "400", "413", "415"],
            "a request can hold a NUL, a body can be too large or of another type"
        );
        let responses = &document["paths"]["/photos"]["get"]["responses"];
        assert_eq!(
            responses.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["400"]
        );
    }

    #[test]
    fn annotated_references_keep_only_the_reference_in_all_of() {
        let mut schema = json!({
            "properties": {
                "language": {
                    "nullable": true,
                    "allOf": [
                        { "$ref": "#/components/schemas/Language" },
                        { "nullable": true, "description": "Shown in." }
                    ]
                },
                "both": { "allOf": [{ "$ref": "#/a" }, { "$ref": "#/b" }] }
            }
        });
        tidy_references(&mut schema);
        assert_eq!(
            schema["properties"]["language"],
            json!({
                "nullable": true,
                "description": "Shown in.",
                "allOf": [{ "$ref": "#/components/schemas/Language" }]
            })
        );
        assert_eq!(
            schema["properties"]["both"]["allOf"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_path_allows_its_methods_and_literal_segments_win() {
        let spec = spec();
        assert_eq!(spec.allow("/photos").unwrap(), "GET, POST, HEAD");
        assert_eq!(spec.allow("/photos/7").unwrap(), "PATCH");
        assert_eq!(spec.allow("/photos/popular").unwrap(), "GET, HEAD");
        assert!(spec.allow("/photos/7/comments").is_none());
        assert!(spec.allow("/photos/").is_none());
    }
}
