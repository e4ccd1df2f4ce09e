//! Text that is safe to put in a page: [`Html`]. Every page (the portal's, the owner's, the
//! voucher sheet) is built from it, so text that was not escaped cannot reach a page.
//!
//! There are three ways in:
//! - [`Html::text`] escapes (`<>&"'`), for element content and attribute values alike;
//! - [`Html::markup`] takes a `&'static str`: literals and `include_str!` templates live in the
//!   binary and are never input;
//! - [`html!`](crate::html!) joins a literal format string (markup) with values that go through
//!   [`Render`]: `Html` as it is, text escaped, numbers and the small value types as written.
//!   Only `{}` placeholders are allowed (checked at compile time): an inline capture such as
//!   `{name}` would bypass [`Render`].
//!
//! `Html` has no `Display`: `format!` would turn it back into a `String` that could only return
//! escaped a second time. [`Html::as_str`] and `From<Html> for Bytes` are the ways out.
//! Touches: nothing.

use bytes::Bytes;
use std::fmt::Write;

/// Text that is safe to put in a page (escaped, or markup from the binary).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Nothing.
    pub const fn new() -> Html {
        Html(String::new())
    }

    /// Room for `n` bytes, for a big page built piece by piece.
    pub fn with_capacity(n: usize) -> Html {
        Html(String::with_capacity(n))
    }

    /// `s` escaped: shows as `s` reads, in element content and in a quoted attribute value.
    pub fn text(s: &str) -> Html {
        let mut h = Html::with_capacity(s.len());
        h.push_text(s);
        h
    }

    /// Markup written in the program (a literal, a constant, an `include_str!` template).
    pub fn markup(s: &'static str) -> Html {
        Html(s.to_string())
    }

    /// Appends `piece` (escaped if it is text).
    pub fn push(&mut self, piece: impl Render) {
        piece.render(self);
    }

    /// Appends `s` escaped.
    pub fn push_text(&mut self, s: &str) {
        escape_into(&mut self.0, s);
    }

    /// Appends markup written in the program.
    pub fn push_markup(&mut self, s: &'static str) {
        self.0.push_str(s);
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Each `from` replaced with `to`: both are markup written in the program, so the page
    /// stays as safe as it was.
    pub fn replace(&self, from: &'static str, to: &'static str) -> Html {
        Html(self.0.replace(from, to))
    }

    /// For [`html!`](crate::html!): `fmt` with each `{}` replaced by the next of `args`
    /// (`{{` and `}}` are braces). The macro has checked the placeholders against the values.
    #[doc(hidden)]
    pub fn format(fmt: &'static str, args: &[&dyn Render]) -> Html {
        let mut out = Html::with_capacity(fmt.len() + 16 * args.len());
        let mut args = args.iter();
        let mut rest = fmt;
        while let Some(i) = rest.find(['{', '}']) {
            out.0.push_str(&rest[..i]);
            let pair = rest.get(i..i + 2).unwrap_or("");
            match pair {
                "{}" => {
                    if let Some(a) = args.next() {
                        a.render(&mut out);
                    }
                }
                "{{" => out.0.push('{'),
                "}}" => out.0.push('}'),
                _ => {
                    // A lone brace: the macro refuses these; kept as written.
                    out.0.push_str(&rest[i..i + 1]);
                    rest = &rest[i + 1..];
                    continue;
                }
            }
            rest = &rest[i + 2..];
        }
        out.0.push_str(rest);
        out
    }
}

/// A page as shared bytes (cheap to clone), made only from [`Html`]: one render served to many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shared(Bytes);

impl Shared {
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<Html> for Shared {
    fn from(h: Html) -> Shared {
        Shared(Bytes::from(h.0))
    }
}

impl From<Html> for Bytes {
    fn from(h: Html) -> Bytes {
        Bytes::from(h.0)
    }
}

impl From<Html> for String {
    fn from(h: Html) -> String {
        h.0
    }
}

impl std::ops::AddAssign<Html> for Html {
    fn add_assign(&mut self, rhs: Html) {
        self.0.push_str(&rhs.0);
    }
}

impl std::ops::AddAssign<&Html> for Html {
    fn add_assign(&mut self, rhs: &Html) {
        self.0.push_str(&rhs.0);
    }
}

impl std::ops::Add<Html> for Html {
    type Output = Html;
    fn add(mut self, rhs: Html) -> Html {
        self.0.push_str(&rhs.0);
        self
    }
}

impl std::ops::Add<&Html> for Html {
    type Output = Html;
    fn add(mut self, rhs: &Html) -> Html {
        self.0.push_str(&rhs.0);
        self
    }
}

impl FromIterator<Html> for Html {
    fn from_iter<I: IntoIterator<Item = Html>>(iter: I) -> Html {
        let mut out = Html::new();
        for h in iter {
            out += h;
        }
        out
    }
}

/// A value that can be put in a page: [`Html`] as it is, text escaped, numbers as written.
/// The only way to write is through [`Html`]'s own methods, so an implementation cannot add
/// unescaped text.
pub trait Render {
    fn render(&self, out: &mut Html);
}

impl Render for Html {
    fn render(&self, out: &mut Html) {
        out.0.push_str(&self.0);
    }
}

impl Render for str {
    fn render(&self, out: &mut Html) {
        out.push_text(self);
    }
}

impl Render for String {
    fn render(&self, out: &mut Html) {
        out.push_text(self);
    }
}

impl<T: Render + ?Sized> Render for &T {
    fn render(&self, out: &mut Html) {
        (**self).render(out);
    }
}

/// Numbers carry no markup: written as they are.
macro_rules! render_number {
    ($($t:ty),*) => {$(
        impl Render for $t {
            fn render(&self, out: &mut Html) {
                let _ = write!(out.0, "{self}");
            }
        }
    )*};
}
render_number!(u8, u16, u32, u64, usize, i32, i64);

/// Value types written by their `Display`, escaped like any text.
macro_rules! render_display {
    ($($t:ty),*) => {$(
        impl Render for $t {
            fn render(&self, out: &mut Html) {
                out.push_text(&self.to_string());
            }
        }
    )*};
}
render_display!(
    crate::units::Kbps,
    crate::units::Kes,
    crate::units::ByteCount,
    crate::mac::Mac,
    std::net::IpAddr
);

/// Escapes text for HTML element content and attribute values.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// For [`html!`](crate::html!), at compile time: `fmt` has exactly `args` placeholders, each
/// `{}` (`{{` and `}}` are braces). Anything else between braces (`{name}`, `{0}`, `{:.1}`)
/// stops the build.
#[doc(hidden)]
pub const fn check_format(fmt: &str, args: usize) {
    let b = fmt.as_bytes();
    let mut i = 0;
    let mut holes = 0;
    while i < b.len() {
        if b[i] == b'{' {
            if i + 1 < b.len() && b[i + 1] == b'{' {
                i += 2;
                continue;
            }
            if i + 1 < b.len() && b[i + 1] == b'}' {
                holes += 1;
                i += 2;
                continue;
            }
            panic!("html!: only `{{}}` placeholders (values go through Render)");
        }
        if b[i] == b'}' {
            if i + 1 < b.len() && b[i + 1] == b'}' {
                i += 2;
                continue;
            }
            panic!("html!: a lone `}}` (write `}}}}`)");
        }
        i += 1;
    }
    if holes != args {
        panic!("html!: the placeholders and the values differ in number");
    }
}

/// `html!("<b>{}</b> {}", name, count)`: the literal is markup, each value goes through
/// [`Render`] (text escaped). Only `{}` placeholders, checked at compile time.
///
/// ```
/// let name = "<Mama's>";
/// let h = lango::html!("<b>{}</b> ({})", name, 3u32);
/// assert_eq!(h.as_str(), "<b>&lt;Mama&#39;s&gt;</b> (3)");
/// ```
///
/// An inline capture would skip [`Render`], so it does not build:
///
/// ```compile_fail
/// let name = "<script>";
/// let _ = lango::html!("<b>{name}</b>");
/// ```
#[macro_export]
macro_rules! html {
    ($fmt:literal $(,)?) => {{
        const _: () = $crate::html::check_format($fmt, 0);
        $crate::html::Html::format($fmt, &[])
    }};
    ($fmt:literal, $($arg:expr),+ $(,)?) => {{
        const _: () =
            $crate::html::check_format($fmt, <[&str]>::len(&[$(stringify!($arg)),+]));
        $crate::html::Html::format($fmt, &[$(&$arg as &dyn $crate::html::Render),+])
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            Html::text("<a href=\"x\">'&'</a>").as_str(),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_string_interpolated_is_escaped() {
        let name = String::from("<script>alert('x')</script>");
        let h = crate::html!("<b title=\"{}\">{}</b>", name.as_str(), name);
        assert_eq!(
            h.as_str(),
            "<b title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</b>"
        );
    }

    #[test]
    fn html_is_not_escaped_twice() {
        let inner = Html::text("a & b");
        let h = crate::html!("<p>{}</p>", inner);
        assert_eq!(h.as_str(), "<p>a &amp; b</p>");
        let mut p = Html::markup("<ul>");
        p.push(&h);
        p.push("x<y");
        p.push_markup("</ul>");
        assert_eq!(p.as_str(), "<ul><p>a &amp; b</p>x&lt;y</ul>");
    }

    #[test]
    fn numbers_and_braces_are_written_as_they_are() {
        let h = crate::html!("{{{}}} {} {}", 42u32, -7i64, crate::units::Kbps(5000));
        assert_eq!(h.as_str(), "{42} -7 5 Mbps");
        assert_eq!(crate::html!("a{{b}}").as_str(), "a{b}");
    }

    #[test]
    #[should_panic(expected = "only `{}` placeholders")]
    fn inline_captures_are_refused() {
        check_format("<b>{name}</b>", 0);
    }

    #[test]
    #[should_panic(expected = "differ in number")]
    fn every_value_has_its_placeholder() {
        check_format("<b>{}</b>", 2);
    }
}
