//! Lenient JSON, as ARM reads a deployment body.
//!
//! `az deployment group create` splices the template file's raw text into the request body
//! (azure-cli `JsonCTemplatePolicy`), so the body may hold `//` and `/* */` comments and its
//! `template` key is unquoted. ARM's reader (Json.NET) also accepts trailing commas and
//! single-quoted strings. `serde_json` accepts none of that, so this is a small recursive
//! parser that also records where every value starts: ARM's errors quote the line and column
//! of the offending JSON token (`"lineNumber"`, `"linePosition"`, `"path"` in
//! `additionalInfo`, e.g. microsoft/fabric-toolbox#398).

use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Line (1-based) and column (1-based) of a JSON token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

/// Where each value of a document starts, by JSON path (`resources[0].properties.x`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Positions {
    map: HashMap<String, Pos>,
}

impl Positions {
    pub(crate) fn get(&self, path: &str) -> Option<Pos> {
        self.map.get(path).copied()
    }

    /// The positions under `prefix`, re-keyed relative to it (the template inside a body).
    pub(crate) fn subtree(&self, prefix: &str) -> Positions {
        let mut map = HashMap::new();
        for (k, v) in &self.map {
            if k == prefix {
                map.insert(String::new(), *v);
            } else if let Some(rest) = k.strip_prefix(prefix) {
                if let Some(r) = rest.strip_prefix('.') {
                    map.insert(r.to_string(), *v);
                } else if rest.starts_with('[') {
                    map.insert(rest.to_string(), *v);
                }
            }
        }
        Positions { map }
    }
}

/// Joins a JSON path and a property name the way Json.NET prints paths.
pub(crate) fn child_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}['{key}']"),
    }
}

/// Joins a JSON path and an array index.
pub(crate) fn index_path(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// A syntax error, with its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonError {
    pub(crate) message: String,
    pub(crate) pos: Pos,
}

/// Parses lenient JSON: comments, trailing commas, single quotes, unquoted keys.
pub(crate) fn parse(text: &str) -> Result<(Value, Positions), JsonError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        line: 1,
        col: 1,
        pos: Positions::default(),
    };
    p.skip_ws()?;
    let v = p.value(String::new(), 0)?;
    p.skip_ws()?;
    if p.i < p.s.len() {
        return Err(p.err("Additional text encountered after finished reading JSON content"));
    }
    Ok((v, p.pos))
}

const MAX_DEPTH: usize = 256;

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    line: u32,
    col: u32,
    pos: Positions,
}

impl Parser<'_> {
    fn here(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.col,
        }
    }

    fn err(&self, msg: &str) -> JsonError {
        JsonError {
            message: format!("{msg}. Path '', line {}, position {}.", self.line, self.col),
            pos: self.here(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        if c == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if c & 0xC0 != 0x80 {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) -> Result<(), JsonError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => {
                    self.bump();
                }
                Some(0xEF) if self.s[self.i..].starts_with(&[0xEF, 0xBB, 0xBF]) => {
                    self.i += 3;
                }
                Some(b'/') => self.comment()?,
                _ => return Ok(()),
            }
        }
    }

    fn comment(&mut self) -> Result<(), JsonError> {
        match self.s.get(self.i + 1) {
            Some(b'/') => {
                while !matches!(self.peek(), None | Some(b'\n')) {
                    self.bump();
                }
                Ok(())
            }
            Some(b'*') => {
                self.bump();
                self.bump();
                loop {
                    match self.bump() {
                        None => return Err(self.err("Unexpected end while parsing comment")),
                        Some(b'*') if self.peek() == Some(b'/') => {
                            self.bump();
                            return Ok(());
                        }
                        _ => {}
                    }
                }
            }
            _ => Err(self.err("Unexpected character encountered while parsing value: /")),
        }
    }

    fn value(&mut self, path: String, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("The reader's MaxDepth of 256 has been exceeded"));
        }
        // Json.NET's line info: a container at its opening bracket, a scalar at its last
        // character (the closing quote of a string).
        if matches!(self.peek(), Some(b'{' | b'[')) {
            self.pos.map.insert(path.clone(), self.here());
        }
        let scalar = match self.peek() {
            Some(b'{') => return self.object(path, depth),
            Some(b'[') => return self.array(path, depth),
            Some(q @ (b'"' | b'\'')) => self.string(q).map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.literal(),
            None => Err(self.err("Unexpected end when reading JSON")),
            Some(c) => Err(self.err(&format!(
                "Unexpected character encountered while parsing value: {}",
                c as char
            ))),
        }?;
        let end = Pos {
            line: self.line,
            column: self.col.saturating_sub(1).max(1),
        };
        self.pos.map.insert(path, end);
        Ok(scalar)
    }

    fn object(&mut self, path: String, depth: usize) -> Result<Value, JsonError> {
        self.bump();
        let mut map = Map::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                Some(b'}') => {
                    self.bump();
                    return Ok(Value::Object(map));
                }
                None => return Err(self.err("Unexpected end when reading JSON")),
                _ => {}
            }
            let key = self.key()?;
            self.skip_ws()?;
            if self.bump() != Some(b':') {
                return Err(self.err(&format!("Invalid character after parsing property name '{key}'")));
            }
            self.skip_ws()?;
            let v = self.value(child_path(&path, &key), depth + 1)?;
            map.insert(key, v);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => {
                    self.bump();
                }
                Some(b'}') => {}
                _ => return Err(self.err("After parsing a value an unexpected character was encountered")),
            }
        }
    }

    fn key(&mut self) -> Result<String, JsonError> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => self.string(q),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = self.i;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'$') {
                    self.bump();
                }
                Ok(self.text[start..self.i].to_string())
            }
            _ => Err(self.err("Invalid property identifier character")),
        }
    }

    fn array(&mut self, path: String, depth: usize) -> Result<Value, JsonError> {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                Some(b']') => {
                    self.bump();
                    return Ok(Value::Array(items));
                }
                None => return Err(self.err("Unexpected end when reading JSON")),
                _ => {}
            }
            items.push(self.value(index_path(&path, items.len()), depth + 1)?);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => {
                    self.bump();
                }
                Some(b']') => {}
                _ => return Err(self.err("After parsing a value an unexpected character was encountered")),
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<String, JsonError> {
        self.bump();
        let mut out = String::new();
        loop {
            let start = self.i;
            while !matches!(self.peek(), None | Some(b'\\')) && self.peek() != Some(quote) {
                self.bump();
            }
            out.push_str(&self.text[start..self.i]);
            match self.bump() {
                None => return Err(self.err("Unterminated string. Expected delimiter")),
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => return Ok(out),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let c = self
            .bump()
            .ok_or_else(|| self.err("Unterminated string. Expected delimiter"))?;
        match c {
            b'n' => out.push('\n'),
            b't' => out.push('\t'),
            b'r' => out.push('\r'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'u' => {
                let hi = self.hex4()?;
                let ch = if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
                    self.bump();
                    self.bump();
                    let lo = self.hex4()?;
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF))
                } else {
                    char::from_u32(hi)
                };
                out.push(ch.unwrap_or('\u{FFFD}'));
            }
            b'"' | b'\'' | b'\\' | b'/' => out.push(c as char),
            _ => return Err(self.err(&format!("Bad JSON escape sequence: \\{}", c as char))),
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .text
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("Unexpected end"))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| self.err("Invalid Unicode escape sequence"))?;
        for _ in 0..4 {
            self.bump();
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        while matches!(self.peek(), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
            self.bump();
        }
        let t = &self.text[start..self.i];
        if let Ok(n) = t.parse::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        t.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| self.err(&format!("Input string '{t}' is not a valid number")))
    }

    fn literal(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphabetic()) {
            self.bump();
        }
        match &self.text[start..self.i] {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            t => Err(self.err(&format!("Unexpected character encountered while parsing value: {t}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_json_parses_like_serde() {
        let t = r#"{"a":[1,2.5,"x\n\u00e9\ud83d\ude00"],"b":{"c":null,"d":true,"e":false},"f":-3}"#;
        let (v, _) = parse(t).unwrap();
        assert_eq!(v, serde_json::from_str::<Value>(t).unwrap());
    }

    #[test]
    fn comments_and_trailing_commas_are_accepted() {
        let t = "{\n  // a comment\n  \"a\": 1, /* block\n comment */\n  \"b\": [1, 2,],\n}\n";
        let (v, _) = parse(t).unwrap();
        assert_eq!(v, json!({"a": 1, "b": [1, 2]}));
    }

    #[test]
    fn az_spliced_body_with_unquoted_template_key_parses() {
        // azure-cli JsonCTemplatePolicy appends `, template:<raw file>}}` to the serialized body.
        let t = "{\"properties\": {\"mode\": \"Incremental\", template:{\n// c\n\"resources\": []}}}";
        let (v, pos) = parse(t).unwrap();
        assert_eq!(v["properties"]["template"]["resources"], json!([]));
        assert_eq!(
            pos.get("properties.template.resources"),
            Some(Pos { line: 3, column: 14 })
        );
        let sub = pos.subtree("properties.template");
        assert_eq!(sub.get("resources"), Some(Pos { line: 3, column: 14 }));
        assert_eq!(sub.get(""), Some(Pos { line: 1, column: 49 }));
    }

    #[test]
    fn comment_markers_inside_strings_are_kept() {
        let (v, _) = parse(r#"{"u": "http://x/*y*/", 'k': 'it\'s // not a comment'}"#).unwrap();
        assert_eq!(v["u"], "http://x/*y*/");
        assert_eq!(v["k"], "it's // not a comment");
    }

    #[test]
    fn positions_follow_lines_and_columns() {
        let t = "{\n  \"resources\": [\n    {\"name\": \"a\"},\n    {\"name\": \"b\"}\n  ]\n}";
        let (_, pos) = parse(t).unwrap();
        assert_eq!(pos.get("resources[1]"), Some(Pos { line: 4, column: 5 }));
        assert_eq!(pos.get("resources[1].name"), Some(Pos { line: 4, column: 16 }));
    }

    #[test]
    fn syntax_errors_carry_their_position() {
        let e = parse("{\n  \"a\": 1\n  \"b\": 2\n}").unwrap_err();
        assert_eq!(e.pos, Pos { line: 3, column: 3 });
        assert!(parse("{\"a\": [1, 2}").is_err());
        assert!(parse("{\"a\": 1} x").is_err());
        assert!(parse("/* open").is_err());
        assert!(parse("\"abc").is_err());
    }

    #[test]
    fn paths_quote_unusual_keys() {
        assert_eq!(child_path("a", "b.c"), "a['b.c']");
        assert_eq!(child_path("", "x"), "x");
        assert_eq!(index_path("r", 2), "r[2]");
    }
}
