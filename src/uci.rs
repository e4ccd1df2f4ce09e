//! UCI text as written: splitting a line into words the way `uci` does, reading a file into
//! its sections, and editing a config file in place, so the owner's page changes only the options it sets and keeps every
//! comment, blank line, unknown option and section as it was.
//! Touches: nothing (text in, text out; `config` validates, the caller writes the file).

/// One line split into words, and where its `#` comment starts (byte offset), if it has one.
#[derive(Debug, PartialEq, Eq)]
pub struct Words {
    pub words: Vec<String>,
    pub comment: Option<usize>,
}

/// Shell-like word splitting as UCI does it: quotes, backslashes, `#` comments.
pub fn split_words(line: &str) -> Result<Words, String> {
    let mut words = vec![];
    let mut cur = String::new();
    let mut in_word = false;
    let mut comment = None;
    let mut chars = line.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '#' if !in_word => {
                comment = Some(at);
                break;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => cur.push(c),
                        None => return Err("unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c)) => cur.push(c),
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some((_, c)) => cur.push(c),
                        None => return Err("unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some((_, c)) = chars.next() {
                    cur.push(c);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(Words { words, comment })
}

/// Characters no UCI value may hold: C0 controls (NUL, tab, new line…) and DEL.
pub fn is_control(c: char) -> bool {
    c < ' ' || c == '\u{7f}'
}

/// A value in single quotes, as `uci export` writes it (`'` becomes `'\''`).
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// One `config TYPE 'name'` block as written.
#[derive(Debug, Clone)]
pub struct Section {
    pub kind: String,
    pub name: Option<String>,
    pub line: usize,
    /// (option name, value, line); `list` entries repeat the name.
    pub options: Vec<(String, String, usize)>,
}

/// A line UCI cannot read, or a value no UCI file may hold.
#[derive(Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub line: usize,
    /// The option whose value is refused (`None`: the line itself is malformed).
    pub option: Option<String>,
    pub msg: String,
}

/// Splits UCI text into sections. Errors name the line.
pub fn sections(text: &str) -> Result<Vec<Section>, Unreadable> {
    let mut sections: Vec<Section> = vec![];
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |msg: String| Unreadable {
            line,
            option: None,
            msg,
        };
        let words = split_words(raw).map_err(err)?.words;
        let Some(first) = words.first() else { continue };
        match first.as_str() {
            "config" => {
                if words.len() < 2 || words.len() > 3 {
                    return Err(err("expected: config TYPE ['NAME']".into()));
                }
                if words.iter().any(|w| w.chars().any(is_control)) {
                    return Err(err(
                        "a section's type or name holds a control character".into()
                    ));
                }
                sections.push(Section {
                    kind: words[1].clone(),
                    name: words.get(2).cloned(),
                    line,
                    options: vec![],
                });
            }
            "option" | "list" => {
                let Some(section) = sections.last_mut() else {
                    return Err(err(format!("{first} before any config section")));
                };
                if words.len() != 3 {
                    return Err(err(format!("expected: {first} NAME 'VALUE'")));
                }
                let name = &words[1];
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(err(format!("{name:?} is not an option name")));
                }
                if let Some(c) = words[2].chars().find(|c| is_control(*c)) {
                    return Err(Unreadable {
                        line,
                        option: Some(name.clone()),
                        msg: format!(
                            "holds the control character U+{:04X}; values must be printable text",
                            u32::from(c)
                        ),
                    });
                }
                section.options.push((name.clone(), words[2].clone(), line));
            }
            "package" => {}
            other => {
                return Err(err(format!(
                    "unexpected {other:?} (expected config, option or list)"
                )))
            }
        }
    }
    Ok(sections)
}

/// Why an edit cannot be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    #[error("line {line}: {msg}")]
    Syntax { line: usize, msg: String },
    /// A tab, new line, NUL or other control character: OpenWrt's `uci` ends a value at a NUL
    /// and joins what follows into the file, so one hostile value could add options.
    #[error("option {0}: control characters (new line, tab, NUL…) are not allowed")]
    ControlCharacter(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Section {
        kind: String,
    },
    Option {
        name: String,
    },
    /// `#option NAME ...` or `#list NAME ...`: a commented-out default, where a new value of
    /// that option is best placed.
    Template {
        name: String,
    },
    /// Blank lines, comments, `package`.
    Other,
}

#[derive(Debug, Clone)]
struct Line {
    text: String,
    kind: Kind,
}

/// A UCI file kept line by line, edited in place.
#[derive(Debug, Clone)]
pub struct Document {
    lines: Vec<Line>,
    trailing_newline: bool,
}

impl Document {
    /// Reads UCI text. Only the shape of each line is checked here; `Config::parse` judges values.
    pub fn parse(text: &str) -> Result<Document, EditError> {
        let mut lines = vec![];
        for (i, raw) in text.lines().enumerate() {
            let w = split_words(raw).map_err(|msg| EditError::Syntax { line: i + 1, msg })?;
            let kind = match w.words.first().map(String::as_str) {
                Some("config") if w.words.len() >= 2 => Kind::Section {
                    kind: w.words[1].clone(),
                },
                Some("option" | "list") if w.words.len() >= 2 => Kind::Option {
                    name: w.words[1].clone(),
                },
                None => template(raw).map_or(Kind::Other, |name| Kind::Template { name }),
                _ => Kind::Other,
            };
            lines.push(Line {
                text: raw.to_string(),
                kind,
            });
        }
        Ok(Document {
            lines,
            trailing_newline: text.is_empty() || text.ends_with('\n'),
        })
    }

    /// The text to write back.
    pub fn render(&self) -> String {
        let mut out = self
            .lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        if self.trailing_newline && !out.is_empty() {
            out.push('\n');
        }
        out
    }

    /// Sets `option NAME 'VALUE'` in the section of type `kind` (see [`Document::set_list`] for
    /// which section), replacing the option where it stands and dropping repeats of it.
    pub fn set(
        &mut self,
        kind: &str,
        name: &str,
        option: &str,
        value: &str,
    ) -> Result<(), EditError> {
        self.replace(
            kind,
            name,
            option,
            &[format!("option {option} {}", quote(value))],
            value,
        )
    }

    /// Replaces every `list OPTION` (and `option OPTION`) line of the section with one `list`
    /// line per value, written where the first old line stood. The section is the last one of
    /// type `kind` that has the option (the one whose value wins), else the first of that type,
    /// else a new `config KIND 'NAME'` at the end of the file.
    pub fn set_list(
        &mut self,
        kind: &str,
        name: &str,
        option: &str,
        values: &[String],
    ) -> Result<(), EditError> {
        let lines: Vec<String> = values
            .iter()
            .map(|v| format!("list {option} {}", quote(v)))
            .collect();
        self.replace(kind, name, option, &lines, &values.concat())
    }

    fn replace(
        &mut self,
        kind: &str,
        name: &str,
        option: &str,
        new: &[String],
        values: &str,
    ) -> Result<(), EditError> {
        if values.chars().any(is_control) {
            return Err(EditError::ControlCharacter(option.into()));
        }
        let (start, end) = self.section(kind, name, option);
        let own: Vec<usize> = (start + 1..end)
            .filter(|&i| matches!(&self.lines[i].kind, Kind::Option { name } if name == option))
            .collect();
        let (at, indent, comment) = match own.first() {
            Some(&i) => {
                let text = &self.lines[i].text;
                let indent: String = text.chars().take_while(|c| c.is_whitespace()).collect();
                let comment = split_words(text)
                    .ok()
                    .and_then(|w| w.comment)
                    .map(|c| text[c..].to_string());
                (i, indent, comment)
            }
            None => (self.insertion_point(start, end, option), "\t".into(), None),
        };
        // Remove old lines from the bottom up so earlier indexes stay valid.
        for &i in own.iter().rev() {
            self.lines.remove(i);
        }
        for (k, line) in new.iter().enumerate() {
            let mut text = format!("{indent}{line}");
            if k == 0 {
                if let Some(c) = &comment {
                    text = format!("{text} {c}");
                }
            }
            self.lines.insert(
                at + k,
                Line {
                    text,
                    kind: Kind::Option {
                        name: option.into(),
                    },
                },
            );
        }
        Ok(())
    }

    /// The section to edit, as (index of its `config` line, index after its last line);
    /// appended to the file if there is none of that type.
    fn section(&mut self, kind: &str, name: &str, option: &str) -> (usize, usize) {
        let spans = self.spans(kind);
        let has = |&(s, e): &(usize, usize)| {
            (s + 1..e)
                .any(|i| matches!(&self.lines[i].kind, Kind::Option { name } if name == option))
        };
        if let Some(span) = spans.iter().rev().find(|s| has(s)).or(spans.first()) {
            return *span;
        }
        if self.lines.last().is_some_and(|l| !l.text.trim().is_empty()) {
            self.lines.push(Line {
                text: String::new(),
                kind: Kind::Other,
            });
        }
        self.lines.push(Line {
            text: format!("config {kind} {}", quote(name)),
            kind: Kind::Section { kind: kind.into() },
        });
        (self.lines.len() - 1, self.lines.len())
    }

    /// Each section of type `kind` as (config line, end).
    fn spans(&self, kind: &str) -> Vec<(usize, usize)> {
        let heads: Vec<usize> = (0..self.lines.len())
            .filter(|&i| matches!(self.lines[i].kind, Kind::Section { .. }))
            .collect();
        heads
            .iter()
            .enumerate()
            .filter(|(_, &i)| matches!(&self.lines[i].kind, Kind::Section { kind: k } if k == kind))
            .map(|(n, &i)| (i, heads.get(n + 1).copied().unwrap_or(self.lines.len())))
            .collect()
    }

    /// Where a new option goes: under its commented-out default if the section has one, else
    /// after the section's last option, else right under the `config` line.
    fn insertion_point(&self, start: usize, end: usize, option: &str) -> usize {
        let template = (start + 1..end)
            .find(|&i| matches!(&self.lines[i].kind, Kind::Template { name } if name == option));
        if let Some(i) = template {
            return i + 1;
        }
        (start + 1..end)
            .rev()
            .find(|&i| matches!(self.lines[i].kind, Kind::Option { .. }))
            .map_or(start + 1, |i| i + 1)
    }
}

/// The option named by a commented-out line like `#option site_name 'Lango Wi-Fi'`.
fn template(raw: &str) -> Option<String> {
    let body = raw.trim_start().strip_prefix('#')?;
    let w = split_words(body).ok()?.words;
    match w.first().map(String::as_str) {
        Some("option" | "list") if w.len() == 3 => Some(w[1].clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# Lango, edited by hand
config lango 'main'
\tlist interface 'br-lan'
\toption site_name 'Old name'   # shown on vouchers
\toption frobnicate 'kept'
\t# Owner devices
\t#list trusted 'aa:bb:cc:dd:ee:ff'
\toption portal_port '2050'

config daraja 'daraja'
\t# From your Daraja app
\t#option consumer_key ''
\toption shortcode '174379'

config custom 'x'
\toption whatever '1'
";

    fn values(text: &str, kind: &str, option: &str) -> Vec<String> {
        sections(text)
            .unwrap()
            .iter()
            .filter(|s| s.kind == kind)
            .flat_map(|s| s.options.clone())
            .filter(|(k, _, _)| k == option)
            .map(|(_, v, _)| v)
            .collect()
    }

    #[test]
    fn an_unchanged_document_renders_byte_for_byte() {
        assert_eq!(Document::parse(FILE).unwrap().render(), FILE);
        let no_newline = "config a 'b'\n\toption x 'y'";
        assert_eq!(Document::parse(no_newline).unwrap().render(), no_newline);
    }

    #[test]
    fn set_replaces_in_place_keeping_comments_and_unknown_options() {
        let mut d = Document::parse(FILE).unwrap();
        d.set("lango", "main", "site_name", "Mama's Wi-Fi").unwrap();
        let out = d.render();
        assert_eq!(
            out,
            FILE.replace(
                "\toption site_name 'Old name'   # shown on vouchers",
                "\toption site_name 'Mama'\\''s Wi-Fi' # shown on vouchers"
            )
        );
        assert_eq!(values(&out, "lango", "site_name"), ["Mama's Wi-Fi"]);
        assert_eq!(values(&out, "lango", "frobnicate"), ["kept"]);
        assert_eq!(values(&out, "custom", "whatever"), ["1"]);
    }

    #[test]
    fn a_new_option_goes_under_its_commented_default() {
        let mut d = Document::parse(FILE).unwrap();
        d.set("daraja", "daraja", "consumer_key", "abc").unwrap();
        d.set_list(
            "lango",
            "main",
            "trusted",
            &["aa:bb:cc:dd:ee:01".into(), "aa:bb:cc:dd:ee:02".into()],
        )
        .unwrap();
        let out = d.render();
        assert!(out.contains(
            "\t#option consumer_key ''\n\toption consumer_key 'abc'\n\toption shortcode"
        ));
        assert!(out.contains(
            "\t#list trusted 'aa:bb:cc:dd:ee:ff'\n\tlist trusted 'aa:bb:cc:dd:ee:01'\n\tlist trusted 'aa:bb:cc:dd:ee:02'\n\toption portal_port"
        ));
    }

    #[test]
    fn a_new_option_without_template_follows_the_last_option() {
        let mut d = Document::parse(FILE).unwrap();
        d.set("lango", "main", "welcome", "Karibu").unwrap();
        let out = d.render();
        assert!(
            out.contains("\toption portal_port '2050'\n\toption welcome 'Karibu'\n\nconfig daraja")
        );
    }

    #[test]
    fn lists_are_replaced_where_they_stood_and_can_be_emptied() {
        let mut d = Document::parse(FILE).unwrap();
        d.set_list(
            "lango",
            "main",
            "interface",
            &["br-lan".into(), "guest".into()],
        )
        .unwrap();
        let out = d.render();
        assert!(out.starts_with(
            "# Lango, edited by hand\nconfig lango 'main'\n\tlist interface 'br-lan'\n\tlist interface 'guest'\n\toption site_name"
        ));
        assert_eq!(values(&out, "lango", "interface"), ["br-lan", "guest"]);
        let mut d = Document::parse(&out).unwrap();
        d.set_list("lango", "main", "interface", &[]).unwrap();
        assert!(values(&d.render(), "lango", "interface").is_empty());
    }

    #[test]
    fn a_missing_section_is_appended() {
        let mut d = Document::parse("config lango 'main'\n").unwrap();
        d.set("shaping", "shaping", "enabled", "0").unwrap();
        assert_eq!(
            d.render(),
            "config lango 'main'\n\nconfig shaping 'shaping'\n\toption enabled '0'\n"
        );
        let mut d = Document::parse("").unwrap();
        d.set("lango", "main", "site_name", "X").unwrap();
        assert_eq!(d.render(), "config lango 'main'\n\toption site_name 'X'\n");
    }

    #[test]
    fn the_section_whose_value_wins_is_edited() {
        let text =
            "config lango 'a'\n\toption site_name 'A'\nconfig lango 'b'\n\toption site_name 'B'\n";
        let mut d = Document::parse(text).unwrap();
        d.set("lango", "main", "site_name", "C").unwrap();
        assert_eq!(values(&d.render(), "lango", "site_name"), ["A", "C"]);
    }

    #[test]
    fn repeated_options_collapse_to_one() {
        let text = "config lango 'main'\n\toption site_name 'A'\n\toption site_name 'B'\n";
        let mut d = Document::parse(text).unwrap();
        d.set("lango", "main", "site_name", "C").unwrap();
        assert_eq!(d.render(), "config lango 'main'\n\toption site_name 'C'\n");
    }

    #[test]
    fn regression_control_characters_cannot_reach_the_file() {
        let mut d = Document::parse(FILE).unwrap();
        for bad in [
            "a\nb",
            "a\rb",
            "k\u{0} ; config lango main",
            "a\tb",
            "a\u{7f}",
            "\u{1b}[2J",
        ] {
            assert_eq!(
                d.set("lango", "main", "site_name", bad),
                Err(EditError::ControlCharacter("site_name".into())),
                "{bad:?}"
            );
            assert_eq!(
                d.set_list(
                    "lango",
                    "main",
                    "trusted",
                    &["02:00:00:00:00:01".into(), bad.into()]
                ),
                Err(EditError::ControlCharacter("trusted".into())),
                "{bad:?}"
            );
        }
        assert_eq!(d.render(), FILE, "nothing was written");
        assert!(matches!(
            Document::parse("config lango 'main\n"),
            Err(EditError::Syntax { line: 1, .. })
        ));
    }

    #[test]
    fn words_and_comments() {
        let w = split_words("\toption x 'a # b' # note").unwrap();
        assert_eq!(w.words, ["option", "x", "a # b"]);
        assert_eq!(w.comment, Some(18));
        assert_eq!(
            split_words(&format!("option x {}", quote("it's")))
                .unwrap()
                .words[2],
            "it's"
        );
    }
}
