//! The one place that knows which YAML crate the station uses.
//!
//! Typed reading goes through serde_yaml (which reports the line and column of type errors and
//! unknown keys). Cross-reference checks need the position of values that deserialized fine, which
//! serde_yaml does not keep, so the same text is also parsed by yaml-rust2's event parser into a
//! [`Doc`]: a tree of positions that answers "where is `villages[3].zone`?".

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::problem::Problem;

/// One step of a path into a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// A mapping key.
    Key(&'a str),
    /// A sequence index.
    Index(usize),
}

impl<'a> From<&'a str> for Seg<'a> {
    fn from(k: &'a str) -> Self {
        Seg::Key(k)
    }
}

impl From<usize> for Seg<'_> {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

/// Builds a path: `path!["villages", 3, "zone"]`.
#[macro_export]
#[doc(hidden)]
macro_rules! yaml_path {
    ($($seg:expr),* $(,)?) => { &[$($crate::config::yaml::Seg::from($seg)),*][..] };
}

/// Positions of every node of a parsed document.
#[derive(Debug, Default)]
pub struct Doc {
    root: Option<Node>,
}

#[derive(Debug)]
struct Node {
    line: usize,
    col: usize,
    kind: NodeKind,
}

#[derive(Debug)]
enum NodeKind {
    Scalar,
    Seq(Vec<Node>),
    /// Key text, key position, value.
    Map(Vec<(String, (usize, usize), Node)>),
}

impl Doc {
    /// The `(line, col)` of the node at `path`, or of its deepest existing ancestor; (1, 1) when the
    /// document is empty. Positions are 1-based.
    pub fn locate(&self, path: &[Seg<'_>]) -> (usize, usize) {
        let Some(mut node) = self.root.as_ref() else { return (1, 1) };
        for seg in path {
            let next = match (seg, &node.kind) {
                (Seg::Key(k), NodeKind::Map(entries)) => entries.iter().find(|(key, _, _)| key == k).map(|(_, _, v)| v),
                (Seg::Index(i), NodeKind::Seq(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        (node.line, node.col)
    }

    /// The `(line, col)` of the key of the mapping entry at `path` (its last segment must be a key),
    /// falling back to [`Doc::locate`].
    pub fn locate_key(&self, path: &[Seg<'_>]) -> (usize, usize) {
        if let Some((Seg::Key(last), parent)) = path.split_last() {
            let mut node = self.root.as_ref();
            for seg in parent {
                node = node.and_then(|n| match (seg, &n.kind) {
                    (Seg::Key(k), NodeKind::Map(e)) => e.iter().find(|(key, _, _)| key == k).map(|(_, _, v)| v),
                    (Seg::Index(i), NodeKind::Seq(items)) => items.get(*i),
                    _ => None,
                });
            }
            if let Some(Node { kind: NodeKind::Map(entries), .. }) = node
                && let Some((_, pos, _)) = entries.iter().find(|(key, _, _)| key == last)
            {
                return *pos;
            }
        }
        self.locate(path)
    }
}

/// Builds a [`Doc`] from parser events.
/// A mapping key waiting for its value: the key text and its (line, col).
type PendingKey = Option<(String, (usize, usize))>;

#[derive(Default)]
struct Builder {
    /// Open containers; for maps, a pending key waits for its value.
    stack: Vec<(Node, PendingKey)>,
    root: Option<Node>,
    /// Anchored nodes are not tracked for aliases: an alias is a scalar position.
    done: bool,
}

impl Builder {
    fn attach(&mut self, node: Node, scalar_text: Option<String>) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((parent, pending)) => match &mut parent.kind {
                NodeKind::Seq(items) => items.push(node),
                NodeKind::Map(entries) => match pending.take() {
                    None => *pending = Some((scalar_text.unwrap_or_default(), (node.line, node.col))),
                    Some((key, pos)) => entries.push((key, pos, node)),
                },
                NodeKind::Scalar => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.done {
            return;
        }
        let (line, col) = (mark.line(), mark.col() + 1);
        match ev {
            Event::Scalar(text, ..) => self.attach(Node { line, col, kind: NodeKind::Scalar }, Some(text)),
            Event::Alias(_) => self.attach(Node { line, col, kind: NodeKind::Scalar }, None),
            Event::SequenceStart(..) => self.stack.push((Node { line, col, kind: NodeKind::Seq(Vec::new()) }, None)),
            Event::MappingStart(..) => self.stack.push((Node { line, col, kind: NodeKind::Map(Vec::new()) }, None)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.stack.pop() {
                    self.attach(node, None);
                }
            }
            Event::DocumentEnd => self.done = true,
            _ => {}
        }
    }
}

fn positions(text: &str) -> Doc {
    let mut builder = Builder::default();
    // A syntax error is reported by serde_yaml; here we keep whatever was built before it.
    let _ = Parser::new_from_str(text).load(&mut builder, false);
    Doc { root: builder.root }
}

/// Reads `text` (the contents of `file`) as a `T`, returning the positions of every node too.
///
/// A syntax error, a wrong type or an unknown key is one [`Problem`] at the place serde_yaml names.
/// An empty file reads as an empty mapping, so files whose fields all have defaults may be empty.
pub fn parse<T: DeserializeOwned>(file: &Path, text: &str) -> Result<(T, Doc), Problem> {
    let doc = positions(text);
    // A file with nothing but comments is an empty mapping; anything else is read as written.
    let is_empty = matches!(serde_yaml::from_str::<serde_yaml::Value>(text), Ok(serde_yaml::Value::Null));
    let value = if is_empty { serde_yaml::from_str("{}") } else { serde_yaml::from_str(text) };
    match value {
        Ok(v) => Ok((v, doc)),
        Err(e) => {
            let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let msg = clean_message(&e.to_string());
            let zh = message_zh(&msg);
            Err(Problem::new(file, line, col, (msg, zh)))
        }
    }
}

/// serde_yaml appends " at line L column C" to its messages; the position is already in front.
fn clean_message(msg: &str) -> String {
    let msg = match msg.find(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    msg.replace("unknown field", "unknown key").replace("missing field", "missing key")
}

/// serde's wording of the mistakes people make in hand edits (an unknown or missing key, a value
/// not among those allowed), said in Chinese; anything else says what kind of problem it is and
/// keeps serde_yaml's words.
fn message_zh(msg: &str) -> String {
    // "villages[1]: unknown key …": the path serde_yaml puts first stays as it is.
    let (path, rest) = match msg.split_once(": ") {
        Some((p, r)) if !p.contains(' ') => (format!("{p}："), r),
        _ => (String::new(), msg),
    };
    let listed = |s: &str| s.replace("`, `", "`、`");
    let choices = |s: &str| match s.split_once(", expected one of ") {
        Some((what, list)) => (what.to_owned(), format!("，可写的有 {}", listed(list))),
        None => match s.split_once(", expected ") {
            Some((what, two)) if two.starts_with('`') && two.contains("` or `") => {
                (what.to_owned(), format!("，可写的有 {}", two.replace("` or `", "`、`")))
            }
            Some((what, one)) if one.starts_with('`') => (what.to_owned(), format!("，可写的只有 {one}")),
            Some((what, _)) => (what.to_owned(), String::new()),
            None => (s.to_owned(), String::new()),
        },
    };
    if let Some(r) = rest.strip_prefix("unknown key ") {
        let (key, list) = choices(r);
        let list = if r.ends_with("there are no fields") { "，这里不能写任何键".to_owned() } else { list };
        let key = key.trim_end_matches(", there are no fields");
        return format!("{path}不认识的键 {key}（可能是拼写错误）{list}");
    }
    if let Some(key) = rest.strip_prefix("missing key ") {
        return format!("{path}缺少 {key}");
    }
    if let Some(r) = rest.strip_prefix("unknown variant ") {
        let (value, list) = choices(r);
        return format!("{path}{value} 不是可选的值{list}");
    }
    if let Some(key) = rest.strip_prefix("duplicate field ").or_else(|| rest.strip_prefix("duplicate key ")) {
        return format!("{path}{key} 写了两次");
    }
    format!("YAML 写法有误：{msg}")
}

/// Writes `value` as YAML text.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, String> {
    serde_yaml::to_string(value).map_err(|e| e.to_string())
}

/// Reads YAML text with no position tracking (sidecars written by the station itself).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
station: 青溪
villages:
  - id: dongmen
    zone: dongmen
  - {id: xicun, zone: xi}
";

    #[test]
    fn locates_values_and_keys_by_path() {
        let doc = positions(TEXT);
        assert_eq!(doc.locate(yaml_path!["villages", 0, "zone"]), (4, 11));
        assert_eq!(doc.locate(yaml_path!["villages", 1, "zone"]), (5, 23));
        assert_eq!(doc.locate_key(yaml_path!["villages", 1, "zone"]), (5, 17));
        assert_eq!(doc.locate(yaml_path!["station"]), (1, 10));
        // missing nodes fall back to the deepest existing ancestor
        assert_eq!(doc.locate(yaml_path!["villages", 7, "zone"]), (3, 3));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct V {
        id: String,
        zone: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct F {
        station: String,
        villages: Vec<V>,
    }

    #[test]
    fn unknown_keys_are_reported_where_they_stand() {
        let text = TEXT.replace("    zone: dongmen", "    zonee: dongmen");
        let err = parse::<F>(Path::new("s.yaml"), &text).unwrap_err();
        assert_eq!((err.line, err.col), (4, 5), "{err}");
        assert!(err.message.starts_with("villages[0]: unknown key `zonee`"), "{}", err.message);
        assert_eq!(
            err.message_zh, "villages[0]：不认识的键 `zonee`（可能是拼写错误），可写的有 `id`、`zone`",
            "{}",
            err.message
        );
    }

    #[test]
    fn hand_edit_mistakes_are_said_in_chinese() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        #[allow(dead_code)]
        enum Mode {
            InOrder,
            Rotate,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct P {
            id: String,
            mode: Mode,
        }
        let zh = |text: &str| parse::<P>(Path::new("p.yaml"), text).unwrap_err().message_zh;
        assert_eq!(zh("mode: rotate\n"), "缺少 `id`");
        assert_eq!(zh("id: a\nmode: shuffle\n"), "mode：`shuffle` 不是可选的值，可写的有 `in-order`、`rotate`");
        assert_eq!(zh("id: a\nid: b\nmode: rotate\n"), "`id` 写了两次");
        assert!(zh("id: [a\n").starts_with("YAML 写法有误："));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse::<F>(Path::new("s.yaml"), "station: [a\nvillages: []\n").unwrap_err();
        assert!(err.line >= 1 && err.col >= 1);
        assert!(!err.message.contains(" at line "), "{}", err.message);
    }
}
