//! docker-compose.yml, the Dockerfile it builds and .dockerignore, read as files (nothing is
//! built or started here) and checked against each other, against the server's settings
//! (.env.example) and against scripts/render-nginx.sh, which runs for real with the frontend's
//! settings.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use serde_yaml::Value;

use super::repository;

/// Secrets: they come from .env, never from the compose file or the example.
const SECRETS: [&str; 3] = [
    "POSTGRES_PASSWORD",
    "GALLERY_BOT_TOKEN",
    "GALLERY_JWT_SECRET",
];

/// Where the PostgreSQL image keeps its data unless PGDATA says otherwise.
const POSTGRES_DATA: &str = "/var/lib/postgresql/data";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// docker-compose.yml, parsed, and .env.example, which documents its variables.
struct Compose {
    root: PathBuf,
    file: Value,
    env_example: String,
}

/// How a service's image is built.
struct Build {
    context: PathBuf,
    dockerfile: PathBuf,
    target: Option<String>,
}

impl Compose {
    fn load() -> Self {
        let root = repository().to_path_buf();
        let text = read(&root.join("docker-compose.yml"));
        let file = serde_yaml::from_str(&text)
            .unwrap_or_else(|error| panic!("docker-compose.yml is not valid YAML: {error}"));
        let env_example = read(&root.join(".env.example"));
        Self {
            root,
            file,
            env_example,
        }
    }

    /// Every service, with its name.
    fn services(&self) -> Vec<(String, &Value)> {
        self.file
            .get("services")
            .and_then(Value::as_mapping)
            .expect("docker-compose.yml has a `services` mapping")
            .iter()
            .map(|(name, service)| (text(name, "a service name"), service))
            .collect()
    }

    fn service(&self, name: &str) -> &Value {
        self.file
            .get("services")
            .and_then(|services| services.get(name))
            .unwrap_or_else(|| panic!("docker-compose.yml has no service `{name}`"))
    }

    /// The names declared under a top-level key (`networks`, `volumes`).
    fn declared(&self, key: &str) -> Vec<String> {
        match self.file.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Mapping(entries)) => entries.keys().map(|name| text(name, key)).collect(),
            Some(other) => panic!("top-level `{key}` is not a mapping: {other:?}"),
        }
    }

    /// How service `name` is built, if it is built from this repository.
    fn build(&self, name: &str) -> Option<Build> {
        let build = self.service(name).get("build")?;
        let (context, dockerfile, target) = match build {
            Value::String(context) => (context.as_str(), "Dockerfile", None),
            Value::Mapping(_) => (
                build.get("context").and_then(Value::as_str).unwrap_or("."),
                build
                    .get("dockerfile")
                    .and_then(Value::as_str)
                    .unwrap_or("Dockerfile"),
                build.get("target").and_then(Value::as_str),
            ),
            other => panic!("service `{name}`: `build` is neither a path nor a mapping: {other:?}"),
        };
        let context = self.root.join(context);
        Some(Build {
            dockerfile: context.join(dockerfile),
            context,
            target: target.map(str::to_owned),
        })
    }

    /// Service `name`'s Dockerfile and the stage its image is.
    fn image(&self, name: &str) -> (Dockerfile, String) {
        let build = self
            .build(name)
            .unwrap_or_else(|| panic!("service `{name}` is not built from this repository"));
        let target = build.target.unwrap_or_else(|| {
            panic!(
                "service `{name}` names no build `target`: it would get the Dockerfile's last stage"
            )
        });
        (Dockerfile::parse(&build.dockerfile), target)
    }

    /// Setting `key` of service `name` as compose starts it when .env sets nothing: its
    /// `environment:` entry if it has one (compose's defaults applied), else its image's ENV.
    fn setting(&self, name: &str, key: &str) -> Option<String> {
        if let Some(value) = environment(self.service(name)).get(key) {
            let value = value.as_deref().unwrap_or_else(|| {
                panic!("service `{name}`: {key} has no value in docker-compose.yml")
            });
            return Some(self.resolve(value));
        }
        let build = self.build(name)?;
        let target = build.target?;
        Dockerfile::parse(&build.dockerfile)
            .env(&target)
            .remove(key)
    }

    fn resolve(&self, raw: &str) -> String {
        resolve(raw, &self.env_example)
    }

    /// Whether .env.example documents `variable`: a line `VARIABLE=...` or `# VARIABLE=...`.
    fn documents(&self, variable: &str) -> bool {
        let assignment = format!("{variable}=");
        self.env_example.lines().any(|line| {
            line.strip_prefix('#')
                .unwrap_or(line)
                .trim_start()
                .starts_with(&assignment)
        })
    }
}

/// A scalar's text, or a failed test naming what it should have been.
fn text(value: &Value, what: &str) -> String {
    scalar(value).unwrap_or_else(|| panic!("{what} is not a plain value: {value:?}"))
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A service's `environment:`, in either form; `None` for a name without a value (taken from
/// the shell that runs compose).
fn environment(service: &Value) -> BTreeMap<String, Option<String>> {
    match service.get("environment") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Mapping(entries)) => entries
            .iter()
            .map(|(key, value)| (text(key, "an environment name"), scalar(value)))
            .collect(),
        Some(Value::Sequence(entries)) => entries
            .iter()
            .map(|entry| {
                let entry = entry
                    .as_str()
                    .unwrap_or_else(|| panic!("an environment entry is not text: {entry:?}"));
                match entry.split_once('=') {
                    Some((key, value)) => (key.to_owned(), Some(value.to_owned())),
                    None => (entry.to_owned(), None),
                }
            })
            .collect(),
        Some(other) => panic!("`environment` is neither a mapping nor a list: {other:?}"),
    }
}

/// The names in a list-or-mapping entry of a service (`networks`, `depends_on` as a list).
fn names(value: Option<&Value>, what: &str) -> Vec<String> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => items.iter().map(|item| text(item, what)).collect(),
        Some(Value::Mapping(entries)) => entries.keys().map(|key| text(key, what)).collect(),
        Some(other) => panic!("{what}: neither a list nor a mapping: {other:?}"),
    }
}

/// A service's `depends_on`: each service it waits for, with the condition.
fn depends_on(service: &Value) -> BTreeMap<String, String> {
    match service.get("depends_on") {
        Some(Value::Mapping(entries)) => entries
            .iter()
            .map(|(name, entry)| {
                let condition = entry
                    .get("condition")
                    .and_then(Value::as_str)
                    .unwrap_or("service_started");
                (text(name, "a depends_on name"), condition.to_owned())
            })
            .collect(),
        other => names(other, "depends_on")
            .into_iter()
            .map(|name| (name, "service_started".to_owned()))
            .collect(),
    }
}

/// The container ports a service publishes on the host.
fn published_ports(service: &Value) -> Vec<String> {
    let Some(ports) = service.get("ports") else {
        return Vec::new();
    };
    ports
        .as_sequence()
        .unwrap_or_else(|| panic!("`ports` is not a list: {ports:?}"))
        .iter()
        .map(|port| match port {
            Value::Mapping(_) => text(
                port.get("target").expect("a long-form port has a target"),
                "a port's target",
            ),
            _ => {
                let short = text(port, "a port");
                let without_protocol = short.split('/').next().unwrap_or_default();
                let container = without_protocol.rsplit(':').next().unwrap_or_default();
                container.to_owned()
            }
        })
        .collect()
}

/// Whether a service's `healthcheck:` checks something.
fn compose_healthcheck(service: &Value) -> bool {
    let Some(check) = service.get("healthcheck") else {
        return false;
    };
    if check.get("disable").and_then(Value::as_bool) == Some(true) {
        return false;
    }
    match check.get("test") {
        Some(Value::Sequence(test)) => {
            test.first().and_then(Value::as_str) != Some("NONE") && !test.is_empty()
        }
        Some(Value::String(test)) => !test.trim().is_empty(),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MountKind {
    /// A named volume.
    Volume,
    /// A file or directory of the host.
    Bind,
    /// Anything else: an anonymous volume, a tmpfs.
    Other,
}

#[derive(Debug)]
struct Mount {
    kind: MountKind,
    source: String,
    target: String,
    read_only: bool,
}

/// A service's `volumes:`, in either form.
fn mounts(service: &Value) -> Vec<Mount> {
    let Some(volumes) = service.get("volumes") else {
        return Vec::new();
    };
    volumes
        .as_sequence()
        .unwrap_or_else(|| panic!("`volumes` is not a list: {volumes:?}"))
        .iter()
        .map(|volume| match volume {
            Value::Mapping(_) => {
                let kind = volume
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("volume");
                let source = volume.get("source").and_then(Value::as_str).unwrap_or("");
                Mount {
                    kind: match kind {
                        "volume" if !source.is_empty() => MountKind::Volume,
                        "bind" => MountKind::Bind,
                        _ => MountKind::Other,
                    },
                    source: source.to_owned(),
                    target: text(
                        volume
                            .get("target")
                            .expect("a long-form volume has a target"),
                        "a volume's target",
                    ),
                    read_only: volume.get("read_only").and_then(Value::as_bool) == Some(true),
                }
            }
            _ => {
                let short = text(volume, "a volume");
                let parts: Vec<&str> = short.split(':').collect();
                let (source, target, mode) = match parts.as_slice() {
                    [target] => ("", *target, ""),
                    [source, target] => (*source, *target, ""),
                    [source, target, mode] => (*source, *target, *mode),
                    _ => panic!("cannot read the volume `{short}`"),
                };
                let kind = if source.is_empty() {
                    MountKind::Other
                } else if source.starts_with(['.', '/', '~']) {
                    MountKind::Bind
                } else {
                    MountKind::Volume
                };
                Mount {
                    kind,
                    source: source.to_owned(),
                    target: target.to_owned(),
                    read_only: mode.split(',').any(|option| option == "ro"),
                }
            }
        })
        .collect()
}

/// Every text in a YAML document, keys included: what compose interpolates.
fn texts<'a>(value: &'a Value, into: &mut Vec<&'a str>) {
    match value {
        Value::String(text) => into.push(text),
        Value::Sequence(items) => items.iter().for_each(|item| texts(item, into)),
        Value::Mapping(entries) => {
            for (key, item) in entries {
                texts(key, into);
                texts(item, into);
            }
        }
        Value::Tagged(tagged) => texts(&tagged.value, into),
        _ => {}
    }
}

fn is_name_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_'
}

/// The variables `text` interpolates: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:?message}`
/// (and those inside defaults); `$$` is a literal dollar.
fn interpolated(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        if let Some(after_escape) = after.strip_prefix('$') {
            rest = after_escape;
            continue;
        }
        let name = after.strip_prefix('{').unwrap_or(after);
        let end = name
            .find(|c: char| !is_name_character(c))
            .unwrap_or(name.len());
        if end > 0 {
            found.push(name[..end].to_owned());
        }
        rest = &name[end..];
    }
    found
}

/// The value .env.example gives `variable` (an uncommented `VARIABLE=value` line).
fn example_value(env_example: &str, variable: &str) -> Option<String> {
    let assignment = format!("{variable}=");
    env_example
        .lines()
        .find_map(|line| line.strip_prefix(&assignment))
        .map(|value| value.trim().to_owned())
}

/// Where the `}` closing a `${` is in `text` (which starts right after the `${`).
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0_usize;
    for (at, character) in text.char_indices() {
        match character {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(at),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// What compose makes of `raw` when .env sets nothing: a `${VAR:-default}` or `${VAR-default}`
/// gives its default; a variable without one, the value .env.example gives it.
fn resolve(raw: &str, env_example: &str) -> String {
    let value_of = |name: &str| {
        example_value(env_example, name).unwrap_or_else(|| {
            panic!("`{raw}` needs {name}, which has no default here and no value in .env.example")
        })
    };
    let mut resolved = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('$') {
        resolved.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(after_escape) = after.strip_prefix('$') {
            resolved.push('$');
            rest = after_escape;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end =
                closing_brace(braced).unwrap_or_else(|| panic!("`{raw}`: a `${{` is not closed"));
            let inner = &braced[..end];
            let name_end = inner
                .find(|c: char| !is_name_character(c))
                .unwrap_or(inner.len());
            let (name, operator) = inner.split_at(name_end);
            match operator
                .strip_prefix(":-")
                .or_else(|| operator.strip_prefix('-'))
            {
                Some(default) => resolved.push_str(&resolve(default, env_example)),
                None => resolved.push_str(&value_of(name)),
            }
            rest = &braced[end + 1..];
        } else {
            let name_end = after
                .find(|c: char| !is_name_character(c))
                .unwrap_or(after.len());
            if name_end == 0 {
                resolved.push('$');
            } else {
                resolved.push_str(&value_of(&after[..name_end]));
            }
            rest = &after[name_end..];
        }
    }
    resolved.push_str(rest);
    resolved
}

/// A Dockerfile, as far as these checks read it: its stages and their instructions.
struct Dockerfile {
    path: PathBuf,
    stages: Vec<Stage>,
}

struct Stage {
    /// Its place in the file: a stage can only build on an earlier one.
    index: usize,
    /// `AS <name>`, lowercased.
    name: Option<String>,
    /// What `FROM` names: an image, or an earlier stage.
    base: String,
    /// (KEYWORD, arguments), continuation lines joined.
    instructions: Vec<(String, String)>,
}

/// A `COPY` or `ADD`.
struct CopyInstruction {
    /// `--from=`: another stage or image instead of the build context.
    from: Option<String>,
    sources: Vec<String>,
    destination: String,
}

impl Dockerfile {
    fn parse(path: &Path) -> Self {
        let text = read(path);
        let mut lines = Vec::new();
        let mut continued = String::new();
        for line in text.lines() {
            let line = line.trim();
            // Comments (parser directives too) and empty lines, also within a continued line.
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.strip_suffix('\\') {
                Some(head) => {
                    continued.push_str(head);
                    continued.push(' ');
                }
                None => {
                    continued.push_str(line);
                    lines.push(std::mem::take(&mut continued));
                }
            }
        }
        assert!(
            continued.trim().is_empty(),
            "{} ends inside a continued line",
            path.display()
        );
        let mut stages: Vec<Stage> = Vec::new();
        for line in lines {
            let (keyword, arguments) = line
                .split_once(char::is_whitespace)
                .unwrap_or((line.as_str(), ""));
            let keyword = keyword.to_ascii_uppercase();
            let arguments = arguments.trim().to_owned();
            if keyword == "FROM" {
                let words: Vec<&str> = arguments
                    .split_whitespace()
                    .filter(|word| !word.starts_with("--"))
                    .collect();
                let base = words.first().unwrap_or_else(|| {
                    panic!("{}: `FROM {arguments}` names no image", path.display())
                });
                let name = match words.as_slice() {
                    [_, as_keyword, name] if as_keyword.eq_ignore_ascii_case("as") => {
                        Some(name.to_ascii_lowercase())
                    }
                    _ => None,
                };
                stages.push(Stage {
                    index: stages.len(),
                    name,
                    base: (*base).to_owned(),
                    instructions: Vec::new(),
                });
            } else if let Some(stage) = stages.last_mut() {
                stage.instructions.push((keyword, arguments));
            }
        }
        assert!(!stages.is_empty(), "{} has no FROM", path.display());
        Self {
            path: path.to_path_buf(),
            stages,
        }
    }

    fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|stage| {
            stage
                .name
                .as_deref()
                .is_some_and(|own| own.eq_ignore_ascii_case(name))
        })
    }

    /// Stage `name` and the stages it builds on, the first one first.
    fn lineage(&self, name: &str) -> Vec<&Stage> {
        let mut lineage = Vec::new();
        let mut current = self.stage(name);
        assert!(
            current.is_some(),
            "{} has no stage `{name}`",
            self.path.display()
        );
        while let Some(stage) = current {
            lineage.push(stage);
            current = self.stages[..stage.index].iter().find(|earlier| {
                earlier
                    .name
                    .as_deref()
                    .is_some_and(|own| own.eq_ignore_ascii_case(&stage.base))
            });
        }
        lineage.reverse();
        lineage
    }

    /// The arguments of every `keyword` instruction that stage `name` runs, inherited ones first.
    fn instructions(&self, name: &str, keyword: &str) -> Vec<&str> {
        self.lineage(name)
            .into_iter()
            .flat_map(|stage| &stage.instructions)
            .filter(|(own, _)| own == keyword)
            .map(|(_, arguments)| arguments.as_str())
            .collect()
    }

    /// The environment stage `name`'s ENV instructions give its image.
    fn env(&self, name: &str) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for arguments in self.instructions(name, "ENV") {
            let parts = words(arguments);
            if parts.first().is_some_and(|first| !first.contains('=')) {
                // The old form: `ENV KEY the value`.
                let (key, value) = arguments
                    .split_once(char::is_whitespace)
                    .unwrap_or((arguments, ""));
                env.insert(key.to_owned(), value.trim().to_owned());
                continue;
            }
            for part in parts {
                let (key, value) = part.split_once('=').unwrap_or_else(|| {
                    panic!("{}: `ENV {arguments}` mixes forms", self.path.display())
                });
                env.insert(key.to_owned(), value.to_owned());
            }
        }
        env
    }

    /// The user stage `name`'s image runs as, if it says.
    fn user(&self, name: &str) -> Option<String> {
        self.instructions(name, "USER")
            .last()
            .map(|user| (*user).to_owned())
    }

    fn healthcheck(&self, name: &str) -> bool {
        self.instructions(name, "HEALTHCHECK")
            .last()
            .is_some_and(|check| !check.trim().eq_ignore_ascii_case("NONE"))
    }

    /// The COPY and ADD instructions of stage `name` (inherited ones too), or of every stage.
    fn copies(&self, name: Option<&str>) -> Vec<CopyInstruction> {
        let stages = match name {
            Some(name) => self.lineage(name),
            None => self.stages.iter().collect(),
        };
        stages
            .into_iter()
            .flat_map(|stage| &stage.instructions)
            .filter(|(keyword, _)| keyword == "COPY" || keyword == "ADD")
            .map(|(keyword, arguments)| parse_copy(keyword, arguments))
            .collect()
    }
}

fn parse_copy(keyword: &str, arguments: &str) -> CopyInstruction {
    let mut rest = arguments.trim();
    let mut from = None;
    while rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if let Some(source) = rest[..end].strip_prefix("--from=") {
            from = Some(source.to_owned());
        }
        rest = rest[end..].trim_start();
    }
    let mut paths: Vec<String> = if rest.starts_with('[') {
        serde_json::from_str(rest).unwrap_or_else(|error| {
            panic!("`{keyword} {arguments}`: not a JSON list of paths: {error}")
        })
    } else {
        rest.split_whitespace().map(str::to_owned).collect()
    };
    let destination = paths
        .pop()
        .unwrap_or_else(|| panic!("`{keyword} {arguments}` names no destination"));
    assert!(!paths.is_empty(), "`{keyword} {arguments}` names no source");
    CopyInstruction {
        from,
        sources: paths,
        destination,
    }
}

/// Splits an instruction's arguments into words as the Dockerfile does: quotes group, a
/// backslash escapes.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        match (quote, character) {
            (Some(open), _) if character == open => quote = None,
            (Some(_), _) => word.push(character),
            (None, '"' | '\'') => {
                quote = Some(character);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(escaped) = characters.next() {
                    word.push(escaped);
                }
                in_word = true;
            }
            (None, _) if character.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, _) => {
                word.push(character);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// A path of the build context (`./web/`, `/web`, `web`), as .dockerignore sees it: `web`.
fn context_path(source: &str) -> String {
    source
        .split('/')
        .filter(|segment| !segment.is_empty() && *segment != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The rules of a build context's .dockerignore, as Docker applies them: a path is left out
/// when it or a directory above it matches a pattern, and the last matching pattern decides
/// (`!pattern` brings a path back).
struct DockerIgnore {
    /// (whether the pattern leaves out, its path segments)
    rules: Vec<(bool, Vec<String>)>,
}

impl DockerIgnore {
    fn load(context: &Path) -> Self {
        let path = context.join(".dockerignore");
        let text = if path.exists() {
            read(&path)
        } else {
            String::new()
        };
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                let (leaves_out, pattern) = match line.strip_prefix('!') {
                    Some(pattern) => (false, pattern.trim()),
                    None => (true, line),
                };
                let segments: Vec<String> = context_path(pattern)
                    .split('/')
                    .map(str::to_owned)
                    .collect();
                (leaves_out, segments)
            })
            .collect();
        Self { rules }
    }

    fn leaves_out(&self, path: &str) -> bool {
        let path = context_path(path);
        if path.is_empty() {
            return false;
        }
        let segments: Vec<&str> = path.split('/').collect();
        let mut left_out = false;
        for (leaves_out, pattern) in &self.rules {
            if (1..=segments.len()).any(|count| segments_match(pattern, &segments[..count])) {
                left_out = *leaves_out;
            }
        }
        left_out
    }
}

/// Whether path segments match pattern segments, `**` standing for any number of segments.
fn segments_match(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skipped| segments_match(rest, &path[skipped..]))
        }
        Some((first, rest)) => path.split_first().is_some_and(|(segment, path_rest)| {
            let pattern: Vec<char> = first.chars().collect();
            let name: Vec<char> = segment.chars().collect();
            name_matches(&pattern, &name) && segments_match(rest, path_rest)
        }),
    }
}

/// Whether a name matches a pattern of one segment (`*` any characters, `?` one).
fn name_matches(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|skipped| name_matches(rest, &name[skipped..])),
        Some(('?', rest)) => !name.is_empty() && name_matches(rest, &name[1..]),
        Some((character, rest)) => {
            name.first() == Some(character) && name_matches(rest, &name[1..])
        }
    }
}

/// Whether a `user` (Dockerfile `USER` or compose `user:`) is someone other than root.
fn is_non_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or_default().trim();
    !name.is_empty() && name != "root" && name != "0"
}

/// The services built from this repository.
fn built_services(compose: &Compose) -> Vec<String> {
    compose
        .services()
        .into_iter()
        .filter(|(name, _)| compose.build(name).is_some())
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn every_built_service_names_a_stage_of_its_dockerfile() {
    let compose = Compose::load();
    let built = built_services(&compose);
    assert!(
        built.iter().any(|name| name == "backend") && built.iter().any(|name| name == "frontend"),
        "the backend and the frontend are built from this repository, not {built:?}"
    );
    for name in built {
        let build = compose.build(&name).expect("the service is built");
        assert!(
            build.context.is_dir(),
            "service `{name}`: the build context {} is not a directory",
            build.context.display()
        );
        assert!(
            build.dockerfile.is_file(),
            "service `{name}`: there is no Dockerfile at {}",
            build.dockerfile.display()
        );
        let (dockerfile, target) = compose.image(&name);
        let stages: Vec<&str> = dockerfile
            .stages
            .iter()
            .filter_map(|stage| stage.name.as_deref())
            .collect();
        assert!(
            dockerfile.stage(&target).is_some(),
            "service `{name}`: its target `{target}` is not a `FROM ... AS {target}` stage of {} \
             (stages: {stages:?})",
            dockerfile.path.display()
        );
    }
}

#[test]
fn the_build_context_has_every_file_the_dockerfile_copies() {
    let compose = Compose::load();
    let mut contexts = BTreeSet::new();
    for name in built_services(&compose) {
        let build = compose.build(&name).expect("the service is built");
        contexts.insert((build.context, build.dockerfile));
    }
    let members_list = regex::Regex::new(r"members\s*=\s*\[([^\]]*)\]").unwrap();
    for (context, dockerfile_path) in contexts {
        let dockerfile = Dockerfile::parse(&dockerfile_path);
        let ignore = DockerIgnore::load(&context);
        let copied: Vec<String> = dockerfile
            .copies(None)
            .into_iter()
            .filter(|copy| copy.from.is_none())
            .flat_map(|copy| copy.sources)
            .collect();
        assert!(
            !copied.is_empty(),
            "{} copies nothing from the build context",
            dockerfile.path.display()
        );
        for source in &copied {
            assert!(
                !ignore.leaves_out(source),
                "{} copies `{source}`, which .dockerignore leaves out of the build context",
                dockerfile.path.display()
            );
            if source.contains(['*', '?', '[']) {
                continue;
            }
            assert!(
                context.join(context_path(source)).exists(),
                "{} copies `{source}`, which is not in the repository",
                dockerfile.path.display()
            );
        }
        // What the build needs, down to the files inside the copied directories.
        let mut needed: Vec<String> = [
            ".sqlx",
            "Cargo.toml",
            "Cargo.lock",
            "backend",
            "backend/Cargo.toml",
            "backend/src",
            "backend/migrations",
            "types",
            "types/Cargo.toml",
            "types/src",
            "web",
            "web/Cargo.toml",
            "web/Trunk.toml",
            "web/index.html",
            "web/styles.css",
            "web/package.json",
            "web/package-lock.json",
            "web/src",
            "scripts",
            "scripts/lib.sh",
            "scripts/render-nginx.sh",
            "nginx.conf",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        let queries =
            std::fs::read_dir(context.join(".sqlx")).expect(".sqlx/ is in the repository");
        for query in queries {
            let query = query.expect(".sqlx/ can be listed");
            needed.push(format!(".sqlx/{}", query.file_name().to_string_lossy()));
        }
        for path in &needed {
            assert!(
                !ignore.leaves_out(path),
                ".dockerignore leaves `{path}` out of the build context; the build needs it"
            );
        }
        // Cargo reads the manifest of every workspace member, whichever package it builds.
        let manifest = read(&context.join("Cargo.toml"));
        let members: Vec<String> = members_list
            .captures(&manifest)
            .expect("Cargo.toml declares its workspace members")[1]
            .split(',')
            .map(|member| member.trim().trim_matches('"').to_owned())
            .filter(|member| !member.is_empty())
            .collect();
        assert!(members.iter().any(|member| member == "backend"));
        // The build needs each of these under a copied path.
        let paths = [".sqlx", "Cargo.toml", "Cargo.lock", "scripts", "nginx.conf"];
        for path in paths
            .iter()
            .copied()
            .chain(members.iter().map(String::as_str))
        {
            assert!(
                !ignore.leaves_out(path),
                ".dockerignore leaves `{path}` out of the build context; the build needs it"
            );
            assert!(
                copied
                    .iter()
                    .any(|source| context_path(source) == path || context_path(source).is_empty()),
                "{} never copies `{path}` from the build context",
                dockerfile.path.display()
            );
        }
    }
}

#[test]
fn the_build_context_leaves_out_secrets_and_build_outputs() {
    let root = repository();
    let ignore = DockerIgnore::load(root);
    for path in [
        ".env",
        ".git",
        "target",
        "data",
        "web/dist",
        "web/node_modules",
        "web/tests/node_modules",
        "web/tests/screenshots",
    ] {
        assert!(
            ignore.leaves_out(path),
            ".dockerignore does not leave out `{path}` (a secret, or what the image builds itself)"
        );
    }
}

#[test]
fn every_container_runs_as_a_non_root_user() {
    let compose = Compose::load();
    for (name, service) in compose.services() {
        let user = match service.get("user") {
            Some(user) => Some(text(user, "a user")),
            None if compose.build(&name).is_some() => {
                let (dockerfile, target) = compose.image(&name);
                dockerfile.user(&target)
            }
            None => None,
        };
        let user = user.unwrap_or_else(|| {
            panic!("service `{name}` runs as root: neither its image (USER) nor `user:` names another user")
        });
        assert!(
            is_non_root(&user),
            "service `{name}` runs as `{user}`, which is root"
        );
    }
}

#[test]
fn the_server_is_built_against_the_committed_query_data() {
    let compose = Compose::load();
    let (dockerfile, _) = compose.image("backend");
    let mut builds = 0;
    for stage in &dockerfile.stages {
        let name = stage.name.as_deref().unwrap_or_default();
        for (keyword, arguments) in &stage.instructions {
            if keyword != "RUN" || !arguments.contains("cargo build") {
                continue;
            }
            builds += 1;
            let offline = arguments.contains("SQLX_OFFLINE=true")
                || (!name.is_empty()
                    && dockerfile.env(name).get("SQLX_OFFLINE").map(String::as_str)
                        == Some("true"));
            assert!(
                offline,
                "stage `{name}` of {} runs `cargo build` without SQLX_OFFLINE=true: the \
                 queries must be checked against the committed .sqlx/, there is no database",
                dockerfile.path.display()
            );
            assert!(
                arguments.contains("--locked"),
                "stage `{name}` builds without --locked: Cargo.lock must be used as committed"
            );
        }
    }
    assert!(
        builds > 0,
        "{} never runs `cargo build`",
        dockerfile.path.display()
    );
}

#[test]
fn volumes_are_declared_and_uploads_are_shared_read_only_with_nginx() {
    let compose = Compose::load();
    let declared = compose.declared("volumes");
    for (name, service) in compose.services() {
        for mount in mounts(service) {
            match mount.kind {
                MountKind::Volume => assert!(
                    declared.contains(&mount.source),
                    "service `{name}` mounts the volume `{}`, which the top-level `volumes` does \
                     not declare ({declared:?})",
                    mount.source
                ),
                MountKind::Bind => assert!(
                    compose.root.join(&mount.source).exists(),
                    "service `{name}` mounts {}, which is not in the repository",
                    mount.source
                ),
                MountKind::Other => {}
            }
        }
    }

    let named = |service: &str| -> BTreeMap<String, Mount> {
        mounts(compose.service(service))
            .into_iter()
            .filter(|mount| mount.kind == MountKind::Volume)
            .map(|mount| (mount.source.clone(), mount))
            .collect()
    };
    let backend = named("backend");
    let frontend = named("frontend");
    let shared: Vec<&String> = backend
        .keys()
        .filter(|volume| frontend.contains_key(*volume))
        .collect();
    assert!(
        !shared.is_empty(),
        "the backend and the frontend share no volume: nginx cannot serve the uploads \
         (backend: {:?}, frontend: {:?})",
        backend.keys().collect::<Vec<_>>(),
        frontend.keys().collect::<Vec<_>>()
    );
    for volume in shared {
        assert!(
            frontend[volume].read_only,
            "the frontend mounts the volume `{volume}` writable; nginx only reads the uploads"
        );
        assert!(
            !backend[volume].read_only,
            "the backend mounts the volume `{volume}` read-only; it stores the uploads there"
        );
    }

    let db = compose.service("db");
    let data = compose
        .setting("db", "PGDATA")
        .unwrap_or_else(|| POSTGRES_DATA.to_owned());
    assert!(
        mounts(db)
            .iter()
            .any(|mount| mount.kind == MountKind::Volume && mount.target == data),
        "the database keeps its data at {data} outside a named volume: it would be lost with the container"
    );
}

#[test]
fn the_database_is_postgres_16_healthy_and_unpublished() {
    let compose = Compose::load();
    let db = compose.service("db");
    let image = db
        .get("image")
        .and_then(Value::as_str)
        .expect("the db service runs an image");
    let (repository_name, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
    assert!(
        repository_name == "postgres" || repository_name.ends_with("/postgres"),
        "the db service runs {image}, not PostgreSQL"
    );
    assert!(
        tag == "16" || tag.starts_with("16-") || tag.starts_with("16."),
        "the db service runs {image}, not PostgreSQL 16"
    );
    assert!(
        compose_healthcheck(db),
        "the db service has no healthcheck: the backend could not wait for it to be healthy"
    );
    assert!(
        published_ports(db).is_empty(),
        "the db service publishes {:?}: the database must be reachable from its network only",
        published_ports(db)
    );
}

#[test]
fn the_backend_waits_for_the_database_and_is_not_published() {
    let compose = Compose::load();
    let backend = compose.service("backend");
    let waits = depends_on(backend);
    assert_eq!(
        waits.get("db").map(String::as_str),
        Some("service_healthy"),
        "the backend must depend on db with `condition: service_healthy` (it has {waits:?})"
    );
    let (dockerfile, target) = compose.image("backend");
    assert!(
        compose_healthcheck(backend) || dockerfile.healthcheck(&target),
        "the backend has no healthcheck, neither in docker-compose.yml nor in its image"
    );
    assert!(
        published_ports(backend).is_empty(),
        "the backend publishes {:?}: only nginx may be reached from outside",
        published_ports(backend)
    );
    let replicas = backend
        .get("deploy")
        .and_then(|deploy| deploy.get("replicas"))
        .and_then(Value::as_u64)
        .unwrap_or(1);
    assert!(
        replicas >= 2,
        "the backend runs {replicas} instance(s): nginx is meant to have several"
    );
    assert!(
        backend.get("container_name").is_none(),
        "the backend sets container_name, which allows one replica only"
    );
}

#[test]
fn only_the_frontend_is_published_and_it_waits_for_the_backend() {
    let compose = Compose::load();
    let frontend = compose.service("frontend");
    assert!(
        !published_ports(frontend).is_empty(),
        "the frontend publishes no port: nothing could reach the app"
    );
    assert!(
        depends_on(frontend).contains_key("backend"),
        "the frontend does not depend on the backend: nginx resolves the backends' addresses at start"
    );
    for (name, service) in compose.services() {
        if name != "frontend" {
            assert!(
                published_ports(service).is_empty(),
                "service `{name}` publishes a port; only the frontend may"
            );
        }
    }
}

#[test]
fn every_service_restarts_and_shares_the_one_network() {
    let compose = Compose::load();
    let networks = compose.declared("networks");
    assert_eq!(
        networks.len(),
        1,
        "docker-compose.yml must declare exactly one network, not {networks:?}"
    );
    let network_name = &networks[0];
    for (name, service) in compose.services() {
        assert_eq!(
            service.get("restart").and_then(Value::as_str),
            Some("unless-stopped"),
            "service `{name}` does not have `restart: unless-stopped`"
        );
        assert_eq!(
            names(service.get("networks"), "a network"),
            networks,
            "service `{name}` must be on the network `{network_name}` and no other"
        );
    }

    let network = compose
        .file
        .get("networks")
        .and_then(|declared| declared.get(network_name.as_str()))
        .expect("the network is declared");
    assert_ne!(
        network.get("internal").and_then(Value::as_bool),
        Some(true),
        "the network is internal: the frontend's published port would be unreachable"
    );
    let subnet = network
        .get("ipam")
        .and_then(|ipam| ipam.get("config"))
        .and_then(Value::as_sequence)
        .and_then(|config| config.first())
        .and_then(|config| config.get("subnet"))
        .map(|subnet| text(subnet, "the subnet"))
        .unwrap_or_else(|| {
            panic!("the network `{network_name}` has no fixed subnet (ipam.config[0].subnet)")
        });
    let subnet = compose.resolve(&subnet);
    let trusted = compose
        .setting("backend", "GALLERY_TRUSTED_PROXIES")
        .expect("the backend sets GALLERY_TRUSTED_PROXIES: else nginx's X-Real-IP is ignored and every client looks like nginx");
    assert_eq!(
        trusted, subnet,
        "the backend must trust proxy headers from the compose network (nginx's addresses) only"
    );
}

#[test]
fn every_interpolated_variable_is_documented() {
    let compose = Compose::load();
    let mut all = Vec::new();
    texts(&compose.file, &mut all);
    let variables: BTreeSet<String> = all.into_iter().flat_map(interpolated).collect();
    assert!(
        variables.contains("POSTGRES_PASSWORD"),
        "docker-compose.yml does not take POSTGRES_PASSWORD from .env"
    );
    for variable in variables {
        assert!(
            compose.documents(&variable),
            "docker-compose.yml uses ${{{variable}}}, which .env.example does not document \
             (a line `{variable}=...` or `# {variable}=...`)"
        );
    }
}

#[test]
fn every_gallery_setting_is_one_the_server_or_nginx_knows() {
    let compose = Compose::load();
    let script = read(&compose.root.join("scripts/render-nginx.sh"));
    let nginx_settings: BTreeSet<String> = script
        .match_indices("GALLERY_NGINX_")
        .map(|(at, _)| {
            let name = &script[at..];
            let end = name
                .find(|c: char| !is_name_character(c))
                .unwrap_or(name.len());
            name[..end].to_owned()
        })
        .collect();
    for (name, service) in compose.services() {
        let mut keys: Vec<String> = environment(service).into_keys().collect();
        if compose.build(&name).is_some() {
            let (dockerfile, target) = compose.image(&name);
            keys.extend(dockerfile.env(&target).into_keys());
        }
        for key in keys.iter().filter(|key| key.starts_with("GALLERY_")) {
            assert!(
                compose.documents(key) || nginx_settings.contains(key),
                "service `{name}` sets {key}, which neither the server (.env.example) nor \
                 scripts/render-nginx.sh knows: a misspelt setting is silently ignored"
            );
        }
    }
}

#[test]
fn nginx_renders_from_the_frontend_settings() {
    let compose = Compose::load();
    let frontend = compose.service("frontend");
    let compose_settings = environment(frontend);
    assert!(
        compose_settings.contains_key("GALLERY_NGINX_BACKENDS"),
        "the frontend's environment does not name the backends (GALLERY_NGINX_BACKENDS)"
    );

    // As the container starts it: its image's ENV, then docker-compose.yml's environment.
    let (dockerfile, target) = compose.image("frontend");
    let mut settings = dockerfile.env(&target);
    for (key, value) in compose_settings {
        let value = value
            .unwrap_or_else(|| panic!("the frontend's {key} has no value in docker-compose.yml"));
        settings.insert(key, compose.resolve(&value));
    }
    let rendered = Command::new("sh")
        .arg(compose.root.join("scripts/render-nginx.sh"))
        .arg(compose.root.join("nginx.conf"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(&settings)
        .output()
        .expect("sh runs scripts/render-nginx.sh");
    assert!(
        rendered.status.success(),
        "scripts/render-nginx.sh fails with the frontend's settings {settings:?}: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let config = String::from_utf8(rendered.stdout).expect("the rendered nginx.conf is UTF-8");
    assert!(
        !config.contains("${GALLERY_NGINX_"),
        "the rendered nginx.conf still has placeholders:\n{config}"
    );

    // Every upstream is a backend service, on the port its GALLERY_ADDR listens on.
    assert!(
        config.contains("server backend:8080 "),
        "nginx does not send requests to backend:8080:\n{config}"
    );
    for upstream in settings["GALLERY_NGINX_BACKENDS"].split_whitespace() {
        assert!(
            config.contains(&format!("server {upstream} ")),
            "nginx.conf has no upstream {upstream}"
        );
        let (host, port) = upstream
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("the upstream {upstream} names no port"));
        let addr = compose.setting(host, "GALLERY_ADDR").unwrap_or_else(|| {
            panic!("the upstream {upstream} is not a service that sets GALLERY_ADDR")
        });
        assert!(
            addr.ends_with(&format!(":{port}")) && !addr.starts_with("127."),
            "the upstream {upstream}: service `{host}` listens on {addr}"
        );
    }

    // The body limit follows the backend's upload limit: both read the same setting.
    let raw_limit = |service: &str| {
        environment(compose.service(service))
            .remove("GALLERY_MAX_UPLOAD_MIB")
            .flatten()
            .unwrap_or_else(|| panic!("service `{service}` does not set GALLERY_MAX_UPLOAD_MIB"))
    };
    assert_eq!(
        raw_limit("frontend"),
        raw_limit("backend"),
        "the frontend and the backend must take GALLERY_MAX_UPLOAD_MIB from the same place"
    );
    let upload_mib: u64 = compose
        .resolve(&raw_limit("backend"))
        .parse()
        .expect("GALLERY_MAX_UPLOAD_MIB is a whole number");
    let body_limit = format!("client_max_body_size {}m;", upload_mib + 1);
    assert!(
        config.contains(&body_limit),
        "nginx's body limit does not match the backend's upload limit of {upload_mib} MiB \
         (expected `{body_limit}`):\n{config}"
    );

    // nginx listens on the port the frontend publishes.
    for port in published_ports(frontend) {
        let port = compose.resolve(&port);
        assert!(
            config.contains(&format!("listen {port};")),
            "the frontend publishes container port {port}, which nginx does not listen on:\n{config}"
        );
    }
}

#[test]
fn the_images_put_files_where_the_settings_say() {
    let compose = Compose::load();

    // The backend serves the built web client from GALLERY_WEB_DIR; nginx from its web root.
    for (service, key) in [
        ("backend", "GALLERY_WEB_DIR"),
        ("frontend", "GALLERY_NGINX_WEB_ROOT"),
    ] {
        let directory = compose
            .setting(service, key)
            .unwrap_or_else(|| panic!("service `{service}` does not set {key}"));
        let (dockerfile, target) = compose.image(service);
        assert!(
            dockerfile
                .copies(Some(&target))
                .iter()
                .any(|copy| copy.destination.trim_end_matches('/')
                    == directory.trim_end_matches('/')),
            "service `{service}`: {key} is {directory}, where its image copies nothing"
        );
    }

    // nginx reads the uploads where the backend writes them: <GALLERY_DATA_DIR>/uploads, on the
    // volume they share.
    let shared_target = |service: &str, other: &str| -> String {
        let others: BTreeSet<String> = mounts(compose.service(other))
            .into_iter()
            .filter(|mount| mount.kind == MountKind::Volume)
            .map(|mount| mount.source)
            .collect();
        mounts(compose.service(service))
            .into_iter()
            .find(|mount| mount.kind == MountKind::Volume && others.contains(&mount.source))
            .map(|mount| mount.target)
            .unwrap_or_else(|| panic!("`{service}` shares no volume with `{other}`"))
    };
    let data_dir = compose
        .setting("backend", "GALLERY_DATA_DIR")
        .expect("the backend sets GALLERY_DATA_DIR");
    let uploads = Path::new(&data_dir).join("uploads");
    let backend_mount = shared_target("backend", "frontend");
    let within = uploads.strip_prefix(&backend_mount).unwrap_or_else(|_| {
        panic!(
            "the backend keeps its uploads in {}, outside the volume it shares with nginx ({backend_mount})",
            uploads.display()
        )
    });
    let expected = Path::new(&shared_target("frontend", "backend")).join(within);
    let nginx_uploads = compose
        .setting("frontend", "GALLERY_NGINX_UPLOADS")
        .expect("the frontend sets GALLERY_NGINX_UPLOADS");
    assert_eq!(
        Path::new(&nginx_uploads),
        expected.as_path(),
        "nginx looks for the uploads in {nginx_uploads}, the backend stores them in {}",
        expected.display()
    );
}

#[test]
fn secrets_come_from_an_untracked_env_file() {
    let compose = Compose::load();
    for (name, service) in compose.services() {
        for (key, value) in environment(service) {
            let Some(value) = value else { continue };
            if SECRETS.contains(&key.as_str()) {
                assert!(
                    !interpolated(&value).is_empty(),
                    "service `{name}`: docker-compose.yml writes the secret {key} itself; take it \
                     from .env (`${{{key}}}`)"
                );
            }
            if key == "DATABASE_URL" {
                assert!(
                    interpolated(&value)
                        .iter()
                        .any(|variable| variable == "POSTGRES_PASSWORD"),
                    "service `{name}`: DATABASE_URL must take the password from ${{POSTGRES_PASSWORD}}"
                );
            }
        }
    }
    for secret in SECRETS {
        assert!(
            example_value(&compose.env_example, secret).is_none(),
            ".env.example sets {secret}: secrets are only described there, commented out"
        );
    }

    let backend = compose.service("backend");
    let env_files: Vec<String> = match backend.get("env_file") {
        Some(Value::String(path)) => vec![path.clone()],
        Some(Value::Sequence(entries)) => entries
            .iter()
            .map(|entry| match entry {
                Value::Mapping(_) => text(
                    entry.get("path").expect("an env_file entry has a path"),
                    "an env_file path",
                ),
                _ => text(entry, "an env_file"),
            })
            .collect(),
        other => panic!("the backend takes no env_file (its secrets come from .env): {other:?}"),
    };
    assert_eq!(
        env_files
            .iter()
            .map(|path| context_path(path))
            .collect::<Vec<_>>(),
        [".env"],
        "the backend's secrets come from .env"
    );
    let gitignore = read(&compose.root.join(".gitignore"));
    assert!(
        gitignore
            .lines()
            .map(str::trim)
            .any(|line| line == ".env" || line == "/.env"),
        ".gitignore does not list .env: the secrets could be committed"
    );
}
