//! alsa-lib's own messages, in our log instead of on stderr.
//!
//! alsa-lib prints what it finds wrong straight to stderr — eight lines of `ALSA lib
//! confmisc.c:855:(parse_card) cannot find card '0'` and the like for every device opened on a
//! machine without a sound card, again at every background reopen. [`quiet`] catches them on the
//! calling thread (alsa-lib's thread-local error handler, through the `alsa` crate cpal itself
//! uses) while it runs `f`, and logs them as one line: at warn level, in words, the first time a
//! message is seen; at debug level after that.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// Runs `f` (which opens or lists sound devices: `during` says which) with alsa-lib's messages
/// going to our log rather than stderr.
pub fn quiet<T>(during: &str, f: impl FnOnce() -> T) -> T {
    caught(during, true, f)
}

/// [`quiet`] for a caller that reports the outcome in its own words (`xiangyin check`): what
/// alsa-lib said goes to the debug log only.
pub fn hushed<T>(during: &str, f: impl FnOnce() -> T) -> T {
    caught(during, false, f)
}

fn caught<T>(during: &str, warn: bool, f: impl FnOnce() -> T) -> T {
    let Ok(buffer) = alsa::Output::local_error_handler() else { return f() };
    let result = f();
    let text = buffer.borrow().to_string();
    // SAFETY: resets this thread's alsa-lib error handler to the default (a null handler is
    // alsa-lib's documented way to do so); no pointer is passed.
    unsafe {
        alsa_sys::snd_lib_error_set_local(None);
    }
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if !lines.is_empty() {
        report(during, warn, &lines);
    }
    result
}

/// Logs one line for what alsa-lib said.
fn report(during: &str, warn: bool, lines: &[&str]) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let summary = in_words(lines);
    let new = SEEN.get_or_init(Default::default).lock().map(|mut s| s.insert(summary.clone())).unwrap_or(true);
    let more =
        if lines.len() > 1 { format!(" ({} messages; RUST_LOG=debug shows them)", lines.len()) } else { String::new() };
    if new && warn {
        tracing::warn!("ALSA, {during}: {summary}{more}");
    } else {
        tracing::debug!("ALSA, {during}: {summary}{more}");
    }
    for l in lines {
        tracing::debug!("alsa-lib: {l}");
    }
}

/// The sentence for what alsa-lib said: the messages people meet, in words; else its first line.
fn in_words(lines: &[&str]) -> String {
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    if has("cannot find card") {
        "there is no sound card on this machine (alsa-lib: cannot find card)".to_owned()
    } else if has("Unknown PCM") {
        let pcm = lines.iter().find(|l| l.contains("Unknown PCM")).copied().unwrap_or_default();
        format!("no such sound device ({pcm})")
    } else if has("Device or resource busy") {
        "the sound device is in use by another program".to_owned()
    } else {
        lines[0].to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::in_words;

    #[test]
    fn the_messages_of_a_machine_without_a_card_are_one_sentence() {
        let lines = [
            "parse_card: cannot find card '0'",
            "_snd_config_evaluate: function snd_func_card_inum returned error: No such file or directory",
            "snd_pcm_open_noupdate: Unknown PCM default",
        ];
        assert_eq!(in_words(&lines), "there is no sound card on this machine (alsa-lib: cannot find card)");
        assert_eq!(
            in_words(&["snd_pcm_open_noupdate: Unknown PCM hw:7"]),
            "no such sound device (snd_pcm_open_noupdate: Unknown PCM hw:7)"
        );
    }
}
