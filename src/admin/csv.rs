//! CSV for spreadsheets (RFC 4180: CRLF, quotes doubled) with a UTF-8 byte-order mark so Excel
//! reads accents right, and cells a spreadsheet would run as a formula defused with a leading `'`.
//! Touches: nothing (text in, bytes out).

use crate::server::Response;
use hyper::header::{HeaderValue, CONTENT_DISPOSITION};
use hyper::StatusCode;

/// Builds a CSV file row by row.
pub struct Csv {
    out: String,
}

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        let mut c = Csv {
            out: String::from("\u{feff}"),
        };
        c.row(header.iter().map(|s| s.to_string()));
        c
    }

    pub fn row<I: IntoIterator<Item = String>>(&mut self, cells: I) {
        let cells: Vec<String> = cells.into_iter().map(|c| cell(&c)).collect();
        self.out += &cells.join(",");
        self.out += "\r\n";
    }

    /// The file as a download named `filename`.
    pub fn into_response(self, filename: &str) -> Response {
        let mut r = crate::server::text(StatusCode::OK, self.out);
        let h = r.headers_mut();
        h.insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
            h.insert(CONTENT_DISPOSITION, v);
        }
        r
    }
}

/// One cell: a text that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) gets a `'` in
/// front (OWASP's advice), then quotes if it holds a comma, quote or line break.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_defuses_formulas() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(cell("+254708"), "'+254708");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn a_file_has_a_bom_a_header_and_crlf_rows() {
        let mut c = Csv::new(&["id", "name"]);
        c.row(["1".to_string(), "Mama Mboga's, Wi-Fi".to_string()]);
        assert_eq!(c.out, "\u{feff}id,name\r\n1,\"Mama Mboga's, Wi-Fi\"\r\n");
    }
}
