//! The template expression language: `"[concat('a', parameters('b'))]"`.
//!
//! Syntax per Microsoft Learn, "Syntax and expressions in ARM templates"
//! (azure-resource-manager/templates/template-expressions): a JSON string that starts with
//! `[` and ends with `]` is an expression; `[[` at the start escapes a literal bracket; string
//! literals use single quotes with `''` for a quote; function names are case-insensitive;
//! results may be followed by `.property` and `[index]` accessors.

use std::fmt;

/// A syntax or evaluation error inside one expression, with the 0-based character position
/// in the JSON string that holds the expression (the leading `[` is position 0).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExprError {
    pub(crate) message: String,
    pub(crate) position: usize,
}

impl ExprError {
    pub(crate) fn new(message: impl Into<String>, position: usize) -> Self {
        ExprError {
            message: message.into(),
            position,
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Str(String),
    Int(i64),
    /// A function call; `name` keeps the template's spelling (`ns.fn` for user functions).
    Call {
        name: String,
        args: Vec<Expr>,
        pos: usize,
    },
    /// `target.name`
    Prop {
        target: Box<Expr>,
        name: String,
        pos: usize,
    },
    /// `target[index]`
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
        pos: usize,
    },
}

impl Expr {
    /// Every call in the tree, outermost first.
    pub(crate) fn visit_calls<'a>(&'a self, f: &mut dyn FnMut(&'a str, &'a [Expr])) {
        match self {
            Expr::Call { name, args, .. } => {
                f(name, args);
                args.iter().for_each(|a| a.visit_calls(f));
            }
            Expr::Prop { target, .. } => target.visit_calls(f),
            Expr::Index { target, index, .. } => {
                target.visit_calls(f);
                index.visit_calls(f);
            }
            Expr::Str(_) | Expr::Int(_) => {}
        }
    }
}

/// What a JSON string holds: a literal (already unescaped) or an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    Literal(String),
    Expression(Expr),
}

/// Classifies a JSON string: `[...]` is an expression, `[[...` an escaped literal.
pub(crate) fn classify(s: &str) -> Result<Template, ExprError> {
    if !is_expression(s) {
        // Only a bracketed string is escaped: `[[x]` is `[x]`, `[[x` stays as it is.
        if s.starts_with("[[") && s.ends_with(']') {
            return Ok(Template::Literal(s[1..].to_string()));
        }
        return Ok(Template::Literal(s.to_string()));
    }
    parse(s).map(Template::Expression)
}

/// True when the string is an expression (`[` … `]`, not `[[`).
pub(crate) fn is_expression(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('[') && s.ends_with(']') && !s.starts_with("[[")
}

/// Parses an expression string including its outer brackets.
pub(crate) fn parse(s: &str) -> Result<Expr, ExprError> {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 2 {
        return Err(ExprError::new(
            format!("The language expression '{s}' is not valid."),
            0,
        ));
    }
    if chars.len() > MAX_EXPRESSION_CHARS {
        return Err(ExprError::new(
            format!(
                "The template language expression is too long: '{}' characters; the limit is '{MAX_EXPRESSION_CHARS}'.",
                chars.len()
            ),
            0,
        ));
    }
    let inner = &chars[1..chars.len() - 1];
    let tokens = lex(inner, 1).map_err(|e| {
        ExprError::new(
            format!("The language expression '{s}' is not valid: {}", e.message),
            e.position,
        )
    })?;
    let mut p = ExprParser {
        tokens,
        i: 0,
        text: s,
        depth: 0,
    };
    if p.peek().0 == Tok::End {
        return Err(p.unexpected("Identifier"));
    }
    let e = p.expr()?;
    if p.peek().0 != Tok::End {
        return Err(p.unexpected("EndOfData"));
    }
    Ok(e)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Ident(String),
    Str(String),
    Int(i64),
    End,
}

impl Tok {
    fn kind(&self) -> &'static str {
        match self {
            Tok::LParen => "LeftParenthesis",
            Tok::RParen => "RightParenthesis",
            Tok::LBracket => "LeftSquareBracket",
            Tok::RBracket => "RightSquareBracket",
            Tok::Comma => "Comma",
            Tok::Dot => "Dot",
            Tok::Ident(_) => "Identifier",
            Tok::Str(_) => "String",
            Tok::Int(_) => "Integer",
            Tok::End => "EndOfData",
        }
    }
}

fn lex(c: &[char], offset: usize) -> Result<Vec<(Tok, usize)>, ExprError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let at = i + offset;
        let simple = match c[i] {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            ',' => Some(Tok::Comma),
            '.' => Some(Tok::Dot),
            _ => None,
        };
        if let Some(t) = simple {
            out.push((t, at));
            i += 1;
            continue;
        }
        match c[i] {
            w if w.is_whitespace() => i += 1,
            '\'' => {
                let (s, next) = lex_string(c, i, offset)?;
                out.push((Tok::Str(s), at));
                i = next;
            }
            d if d.is_ascii_digit() || d == '-' || d == '+' => {
                let (n, next) = lex_int(c, i, offset)?;
                out.push((Tok::Int(n), at));
                i = next;
            }
            a if a.is_alphabetic() || a == '_' || a == '$' => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$') {
                    i += 1;
                }
                out.push((Tok::Ident(c[start..i].iter().collect()), at));
            }
            other => {
                return Err(ExprError::new(
                    format!("the character '{other}' at position '{at}' is not expected."),
                    at,
                ))
            }
        }
    }
    out.push((Tok::End, c.len() + offset));
    Ok(out)
}

fn lex_string(c: &[char], start: usize, offset: usize) -> Result<(String, usize), ExprError> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match c.get(i) {
            None => {
                return Err(ExprError::new(
                    format!(
                        "the string character ''' at position '{}' is not terminated.",
                        start + offset
                    ),
                    start + offset,
                ))
            }
            Some('\'') if c.get(i + 1) == Some(&'\'') => {
                s.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((s, i + 1)),
            Some(ch) => {
                s.push(*ch);
                i += 1;
            }
        }
    }
}

fn lex_int(c: &[char], start: usize, offset: usize) -> Result<(i64, usize), ExprError> {
    let mut i = start + 1;
    while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
        i += 1;
    }
    let text: String = c[start..i].iter().collect();
    text.parse::<i64>().map(|n| (n, i)).map_err(|_| {
        ExprError::new(
            format!(
                "the literal '{text}' at position '{}' is not a valid integer.",
                start + offset
            ),
            start + offset,
        )
    })
}

struct ExprParser<'a> {
    tokens: Vec<(Tok, usize)>,
    i: usize,
    text: &'a str,
    depth: usize,
}

/// Nesting limit of calls and accessors (keeps recursion bounded).
const MAX_NESTING: usize = 256;

/// best-practices.md#template-limits: 24,576 characters per expression.
pub(crate) const MAX_EXPRESSION_CHARS: usize = 24_576;

impl ExprParser<'_> {
    fn peek(&self) -> &(Tok, usize) {
        &self.tokens[self.i.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.peek().clone();
        self.i += 1;
        t
    }

    /// Azure: "Unable to parse language expression 'x': expected token 'Identifier' and
    /// actual 'EndOfData'." (Azure/azure-cli#14373)
    fn unexpected(&self, expected: &str) -> ExprError {
        let (t, at) = self.peek();
        ExprError::new(
            format!(
                "Unable to parse language expression '{}': expected token '{expected}' and actual '{}'.",
                self.text,
                t.kind()
            ),
            *at,
        )
    }

    fn expect(&mut self, tok: Tok) -> Result<(), ExprError> {
        if self.peek().0 == tok {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(tok.kind()))
        }
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let at = self.peek().1;
            return Err(ExprError::new(
                format!(
                    "The language expression '{}' is not valid: it is nested more than '{MAX_NESTING}' levels deep.",
                    self.text
                ),
                at,
            ));
        }
        let r = self.expr_inner();
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.primary()?;
        loop {
            match self.peek().clone() {
                (Tok::Dot, pos) => {
                    self.i += 1;
                    match self.next() {
                        (Tok::Ident(name), _) => {
                            e = Expr::Prop {
                                target: Box::new(e),
                                name,
                                pos,
                            }
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.unexpected("Identifier"));
                        }
                    }
                }
                (Tok::LBracket, pos) => {
                    self.i += 1;
                    let index = self.expr()?;
                    self.expect(Tok::RBracket)?;
                    e = Expr::Index {
                        target: Box::new(e),
                        index: Box::new(index),
                        pos,
                    };
                }
                _ => return Ok(e),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        match self.next() {
            (Tok::Str(s), _) => Ok(Expr::Str(s)),
            (Tok::Int(n), _) => Ok(Expr::Int(n)),
            (Tok::Ident(first), pos) => {
                let mut name = first;
                // `namespace.function(...)`: a user-defined function.
                while self.peek().0 == Tok::Dot
                    && matches!(self.tokens.get(self.i + 1), Some((Tok::Ident(_), _)))
                    && matches!(self.tokens.get(self.i + 2), Some((Tok::LParen, _)))
                {
                    if let Some((Tok::Ident(part), _)) = self.tokens.get(self.i + 1) {
                        name = format!("{name}.{part}");
                    }
                    self.i += 2;
                }
                self.expect(Tok::LParen)?;
                let args = self.args()?;
                Ok(Expr::Call { name, args, pos })
            }
            _ => {
                self.i -= 1;
                Err(self.unexpected("Identifier"))
            }
        }
    }

    fn args(&mut self) -> Result<Vec<Expr>, ExprError> {
        let mut args = Vec::new();
        if self.peek().0 == Tok::RParen {
            self.i += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            match self.next() {
                (Tok::Comma, _) => {}
                (Tok::RParen, _) => return Ok(args),
                _ => {
                    self.i -= 1;
                    return Err(self.unexpected("RightParenthesis"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Expr>, pos: usize) -> Expr {
        Expr::Call {
            name: name.into(),
            args,
            pos,
        }
    }

    #[test]
    fn literal_strings_and_escaped_brackets() {
        // template-expressions: "[[" escapes; a string not both starting/ending with a bracket is literal.
        assert_eq!(classify("abc").unwrap(), Template::Literal("abc".into()));
        assert_eq!(
            classify("[[test value]").unwrap(),
            Template::Literal("[test value]".into())
        );
        assert_eq!(classify("[test").unwrap(), Template::Literal("[test".into()));
        assert_eq!(classify("test]").unwrap(), Template::Literal("test]".into()));
        assert_eq!(classify("[[test").unwrap(), Template::Literal("[[test".into()));
        assert!(matches!(classify("[concat('a')]").unwrap(), Template::Expression(_)));
    }

    #[test]
    fn parses_calls_strings_and_quote_escapes() {
        let e = parse("[concat('It''s', 'x')]").unwrap();
        assert_eq!(
            e,
            call("concat", vec![Expr::Str("It's".into()), Expr::Str("x".into())], 1)
        );
    }

    #[test]
    fn parses_property_and_index_accessors() {
        let e = parse("[parameters('p').a[0]['b']]").unwrap();
        let Expr::Index { target, index, .. } = e else { panic!() };
        assert_eq!(*index, Expr::Str("b".into()));
        let Expr::Index { target, index, .. } = *target else {
            panic!()
        };
        assert_eq!(*index, Expr::Int(0));
        assert!(matches!(*target, Expr::Prop { ref name, .. } if name == "a"));
    }

    #[test]
    fn parses_negative_numbers_and_whitespace() {
        let e = parse("[ add( -1 , 2 ) ]").unwrap();
        assert_eq!(e, call("add", vec![Expr::Int(-1), Expr::Int(2)], 2));
    }

    #[test]
    fn parses_namespaced_user_functions() {
        let e = parse("[contoso.uniqueName('a')]").unwrap();
        assert!(matches!(e, Expr::Call { ref name, .. } if name == "contoso.uniqueName"));
        let e = parse("[resourceGroup().location]").unwrap();
        assert!(matches!(e, Expr::Prop { ref name, .. } if name == "location"));
    }

    #[test]
    fn unterminated_string_reports_its_position() {
        let e = parse("[concat('abc)]").unwrap_err();
        assert_eq!(e.position, 8);
        assert_eq!(e.message, "The language expression '[concat('abc)]' is not valid: the string character ''' at position '8' is not terminated.");
    }

    #[test]
    fn missing_parenthesis_reports_expected_and_actual_tokens() {
        let e = parse("[concat('a']").unwrap_err();
        assert!(
            e.message.contains("'RightParenthesis' and actual 'EndOfData'"),
            "{}",
            e.message
        );
        let e = parse("[]").unwrap_err();
        assert!(
            e.message.contains("expected token 'Identifier' and actual 'EndOfData'"),
            "{}",
            e.message
        );
        let e = parse("[concat('a') x]").unwrap_err();
        assert_eq!(e.position, 13);
        let e = parse("[foo]").unwrap_err();
        assert!(e.message.contains("'LeftParenthesis'"), "{}", e.message);
        let e = parse("[a(1.5)]").unwrap_err();
        assert_eq!(e.position, 3);
        let e = parse("[a(#)]").unwrap_err();
        assert_eq!(e.position, 3);
    }

    #[test]
    fn visits_nested_calls() {
        let e = parse("[reference(resourceId('A/b', 'n')).x]").unwrap();
        let mut names = Vec::new();
        e.visit_calls(&mut |n, _| names.push(n.to_string()));
        assert_eq!(names, ["reference", "resourceId"]);
    }
}
