//! Sentences for people in the two languages of the station's pages, Chinese (zh-CN, the
//! default) and English: [`Lang`] and [`Text`]. Logs and the command line speak English; every
//! sentence a person can read on a page exists in both, and the page's language picks one.

use std::fmt;

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `zh` or `en`, as in `?lang=` and the cookie; `None` for anything else.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" => Some(Lang::Zh),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }

    /// The short code: `zh` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value of `<html lang>`: `zh-CN` or `en`.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// One sentence in both languages. `Display` shows the English one (logs, the command line).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Text {
    /// English.
    pub en: String,
    /// 简体中文.
    pub zh: String,
}

impl Text {
    /// A sentence in English and Chinese.
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Text { en: en.into(), zh: zh.into() }
    }

    /// The sentence in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

impl<A: Into<String>, B: Into<String>> From<(A, B)> for Text {
    fn from((en, zh): (A, B)) -> Self {
        Text::new(en, zh)
    }
}

/// Something that can say itself in Chinese too (its `Display` is the English).
pub trait Say: fmt::Display {
    /// The Chinese sentence.
    fn zh(&self) -> String;

    /// Both.
    fn text(&self) -> Text {
        Text::new(self.to_string(), self.zh())
    }
}
