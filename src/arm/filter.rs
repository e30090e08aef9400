//! OData `$filter` expressions, the subset ARM and Microsoft Graph clients send: comparisons
//! (`roleName eq 'AcrPull'`), function calls (`atScope()`, `assignedTo('…')`,
//! `startswith(displayName,'x')`), lambdas (`servicePrincipalNames/any(c:c eq 'x')`), joined by
//! `and`, `or`, `not` and parentheses. String literals are single-quoted with `''` for a quote.
//! Keywords, function and property names are case-insensitive.
//!
//! One parser for every list that takes `$filter`; each list says which terms it supports
//! ([`Expr::conjuncts`] splits a filter into the `and`ed terms most lists accept).
//! Source: OData v4.01 URL conventions, §5.1.1 (built-in filter operations) and the lambda
//! operators `any`/`all`.

use std::fmt;

/// A literal or a property path in a comparison or a function's arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// A property path, as written (`principalId`, `c`).
    Property(String),
    String(String),
    /// A number, as written.
    Number(String),
    Bool(bool),
    Null,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Cmp, Operand),
    /// `name(args…)`, e.g. `atScope()` or `startswith(displayName,'x')`.
    Call(String, Vec<Operand>),
    /// `collection/any(var:body)` (`all` is [`Expr::All`]).
    Any(String, String, Box<Expr>),
    All(String, String, Box<Expr>),
}

/// Why a filter does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Expr {
    /// The terms of a filter that is a plain conjunction (`a and b and c`), in order; `None`
    /// when it uses `or` or `not` outside a lambda.
    pub(crate) fn conjuncts(&self) -> Option<Vec<&Expr>> {
        match self {
            Expr::And(a, b) => {
                let mut v = a.conjuncts()?;
                v.extend(b.conjuncts()?);
                Some(v)
            }
            Expr::Or(..) | Expr::Not(..) => None,
            e => Some(vec![e]),
        }
    }

    /// `property eq 'value'` (either way round): the property and the string.
    pub(crate) fn eq_string(&self) -> Option<(&str, &str)> {
        match self {
            Expr::Compare(Operand::Property(p), Cmp::Eq, Operand::String(v))
            | Expr::Compare(Operand::String(v), Cmp::Eq, Operand::Property(p)) => Some((p, v)),
            _ => None,
        }
    }

    /// `property eq 'value'` for this property name (case-insensitive): the string.
    pub(crate) fn eq_string_of(&self, property: &str) -> Option<&str> {
        self.eq_string()
            .filter(|(p, _)| p.eq_ignore_ascii_case(property))
            .map(|(_, v)| v)
    }

    /// A call of `name` (case-insensitive): its arguments.
    pub(crate) fn call_of(&self, name: &str) -> Option<&[Operand]> {
        match self {
            Expr::Call(n, args) if n.eq_ignore_ascii_case(name) => Some(args),
            _ => None,
        }
    }
}

/// Parses a `$filter` value.
pub(crate) fn parse(text: &str) -> Result<Expr, FilterError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(FilterError("the filter is empty".into()));
    }
    let mut p = Parser { tokens, pos: 0 };
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(FilterError(format!("unexpected {t} after a complete expression"))),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(String),
    Open,
    Close,
    Comma,
    Colon,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => write!(f, "'{w}'"),
            Token::Str(s) => write!(f, "the string '{s}'"),
            Token::Num(n) => write!(f, "the number {n}"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::Comma => f.write_str("','"),
            Token::Colon => f.write_str("':'"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' | ':' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ',' => Token::Comma,
                    _ => Token::Colon,
                });
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\'')) if chars.peek().is_some_and(|&(_, n)| n == '\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some((_, '\'')) => break,
                        Some((_, ch)) => s.push(ch),
                        None => return Err(FilterError(format!("the string starting at {i} is not closed"))),
                    }
                }
                out.push(Token::Str(s));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut n = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '+') {
                        n.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if !n.chars().any(|d| d.is_ascii_digit()) {
                    return Err(FilterError(format!("'{n}' at {i} is not a number")));
                }
                out.push(Token::Num(n));
            }
            c if c.is_alphabetic() || c == '_' || c == '$' || c == '@' => {
                let mut w = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if ch.is_alphanumeric() || matches!(ch, '_' | '$' | '@' | '.' | '/') {
                        w.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(w));
            }
            other => return Err(FilterError(format!("unexpected character '{other}' at {i}"))),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

fn keyword(t: Option<&Token>, k: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(k))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Token> {
        self.tokens.get(self.pos + ahead)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, want: Token) -> Result<(), FilterError> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(FilterError(format!("expected {want}, found {t}"))),
            None => Err(FilterError(format!("expected {want} at the end"))),
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while keyword(self.peek(), "or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.unary()?;
        while keyword(self.peek(), "and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if keyword(self.peek(), "not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let e = self.or()?;
            self.expect(Token::Close)?;
            return Ok(e);
        }
        self.term()
    }

    fn term(&mut self) -> Result<Expr, FilterError> {
        if let (Some(Token::Word(w)), Some(Token::Open)) = (self.peek(), self.peek_at(1)) {
            let w = w.clone();
            self.pos += 2;
            let lower = w.to_ascii_lowercase();
            if let Some(coll) = lower
                .strip_suffix("/any")
                .or_else(|| lower.strip_suffix("/all"))
                .map(|c| w[..c.len()].to_string())
            {
                return self.lambda(coll, lower.ends_with("/any"));
            }
            let args = self.args()?;
            return Ok(Expr::Call(w, args));
        }
        let left = self.operand()?;
        let op = match self.next() {
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "eq" => Cmp::Eq,
                "ne" => Cmp::Ne,
                "gt" => Cmp::Gt,
                "ge" => Cmp::Ge,
                "lt" => Cmp::Lt,
                "le" => Cmp::Le,
                _ => return Err(FilterError(format!("expected a comparison such as 'eq', found '{w}'"))),
            },
            Some(t) => return Err(FilterError(format!("expected a comparison such as 'eq', found {t}"))),
            None => return Err(FilterError("expected a comparison such as 'eq' at the end".into())),
        };
        let right = self.operand()?;
        Ok(Expr::Compare(left, op, right))
    }

    fn lambda(&mut self, collection: String, any: bool) -> Result<Expr, FilterError> {
        let var = match self.next() {
            Some(Token::Word(v)) if !v.contains('/') => v,
            Some(t) => return Err(FilterError(format!("expected a lambda variable, found {t}"))),
            None => return Err(FilterError("expected a lambda variable at the end".into())),
        };
        self.expect(Token::Colon)?;
        let body = self.or()?;
        self.expect(Token::Close)?;
        Ok(if any {
            Expr::Any(collection, var, Box::new(body))
        } else {
            Expr::All(collection, var, Box::new(body))
        })
    }

    fn args(&mut self) -> Result<Vec<Operand>, FilterError> {
        let mut args = Vec::new();
        if self.peek() == Some(&Token::Close) {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.operand()?);
            match self.next() {
                Some(Token::Comma) => continue,
                Some(Token::Close) => return Ok(args),
                Some(t) => return Err(FilterError(format!("expected ',' or ')', found {t}"))),
                None => return Err(FilterError("expected ')' at the end".into())),
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Operand::String(s)),
            Some(Token::Num(n)) => Ok(Operand::Number(n)),
            Some(Token::Word(w)) => Ok(match w.to_ascii_lowercase().as_str() {
                "true" => Operand::Bool(true),
                "false" => Operand::Bool(false),
                "null" => Operand::Null,
                "and" | "or" | "not" | "eq" | "ne" | "gt" | "ge" | "lt" | "le" => {
                    return Err(FilterError(format!("expected a value, found the keyword '{w}'")))
                }
                _ => Operand::Property(w),
            }),
            Some(t) => Err(FilterError(format!("expected a value, found {t}"))),
            None => Err(FilterError("expected a value at the end".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(p: &str) -> Operand {
        Operand::Property(p.into())
    }

    fn s(v: &str) -> Operand {
        Operand::String(v.into())
    }

    #[test]
    fn comparisons_and_conjunctions() {
        let e = parse("resourceType eq 'Microsoft.ContainerRegistry/registries' and name eq 'acr1'").unwrap();
        let terms = e.conjuncts().unwrap();
        assert_eq!(terms.len(), 2);
        assert_eq!(
            terms[0].eq_string(),
            Some(("resourceType", "Microsoft.ContainerRegistry/registries"))
        );
        assert_eq!(terms[1].eq_string_of("NAME"), Some("acr1"));
        assert_eq!(parse("'x' eq name").unwrap().eq_string(), Some(("name", "x")));
        assert_eq!(
            parse("count GE 3").unwrap(),
            Expr::Compare(prop("count"), Cmp::Ge, Operand::Number("3".into()))
        );
    }

    #[test]
    fn calls_lambdas_and_escapes() {
        let e = parse("atScope() and assignedTo('abc')").unwrap();
        let t = e.conjuncts().unwrap();
        assert_eq!(t[0].call_of("atscope"), Some(&[][..]));
        assert_eq!(t[1].call_of("assignedTo"), Some(&[s("abc")][..]));
        assert_eq!(
            parse("startswith(displayName,'it''s')").unwrap(),
            Expr::Call("startswith".into(), vec![prop("displayName"), s("it's")])
        );
        assert_eq!(
            parse("servicePrincipalNames/any(c:c eq 'http://x')").unwrap(),
            Expr::Any(
                "servicePrincipalNames".into(),
                "c".into(),
                Box::new(Expr::Compare(prop("c"), Cmp::Eq, s("http://x")))
            )
        );
        assert!(matches!(parse("tags/all(t: t ne null)").unwrap(), Expr::All(..)));
    }

    #[test]
    fn precedence_and_parentheses() {
        let e = parse("a eq '1' or b eq '2' and c eq '3'").unwrap();
        assert!(matches!(e, Expr::Or(..)), "and binds tighter than or: {e:?}");
        assert!(e.conjuncts().is_none());
        let e = parse("(a eq '1' or b eq '2') and c eq '3'").unwrap();
        assert!(matches!(e, Expr::And(..)));
        assert!(parse("not (a eq '1')").unwrap().conjuncts().is_none());
        assert_eq!(
            parse("((a eq true))").unwrap(),
            Expr::Compare(prop("a"), Cmp::Eq, Operand::Bool(true))
        );
    }

    #[test]
    fn malformed_filters_are_errors() {
        for bad in [
            "",
            "   ",
            "principalId eq ",
            "resourceType eq '",
            "nonsense",
            "a eq 'x' and",
            "a eq 'x')",
            "(a eq 'x'",
            "a eq eq",
            "a like 'x'",
            "f('x'",
            "f('x' 'y')",
            "c/any(c eq 'x')",
            "a eq 'x' b eq 'y'",
            "a eq #",
            "a eq -",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse: {:?}", parse(bad));
        }
    }
}
