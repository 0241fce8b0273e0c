//! `xiangyin devices`: the sound output devices this computer has, with the id to paste into a
//! hardware profile's `device:`.

use std::io::Write;

use crate::output::{self, DeviceInfo};

/// Lists every output device cpal sees as a table. True when at least one device was listed;
/// false (after saying why) when there are none or the sound system could not be asked.
pub fn run(out: &mut dyn Write) -> std::io::Result<bool> {
    let devices = match output::devices() {
        Ok(d) => d,
        Err(e) => {
            writeln!(out, "could not ask the sound system for devices: {e}")?;
            return Ok(false);
        }
    };
    print(&devices, out)?;
    Ok(!devices.is_empty())
}

/// Writes `devices` as a table (or a sentence when there are none).
pub fn print(devices: &[DeviceInfo], out: &mut dyn Write) -> std::io::Result<()> {
    if devices.is_empty() {
        writeln!(
            out,
            "no sound output devices found: check that the card is plugged in and its driver loaded \
             (`aplay -l` lists the cards ALSA sees)"
        )?;
        return Ok(());
    }
    let rows: Vec<[String; 5]> = devices
        .iter()
        .map(|d| {
            let (formats, rates, channels) = if d.formats.is_empty() {
                ("-".to_owned(), "-".to_owned(), "-".to_owned())
            } else {
                (d.format_names(), d.rate_text(), format!("up to {}", d.max_channels))
            };
            let description = match &d.problem {
                Some(p) => format!("{} [{p}]", d.description),
                None => d.description.clone(),
            };
            [d.id.clone(), formats, rates, channels, description]
        })
        .collect();
    let header = ["id (paste into `device:`)", "formats", "rates", "channels", "description"];
    let mut width = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r).take(4) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5], out: &mut dyn Write| -> std::io::Result<()> {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate().take(4) {
            s.push_str(cell);
            s.push_str(&" ".repeat(width[i] - cell.chars().count() + 2));
        }
        s.push_str(cells[4]);
        writeln!(out, "{}", s.trim_end())
    };
    line(header, out)?;
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]], out)?;
    }
    writeln!(out, "{} output device{}", rows.len(), if rows.len() == 1 { "" } else { "s" })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SampleFormat;

    fn info(id: &str, problem: Option<&str>) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            description: "USB Audio — 8 channel".into(),
            formats: if problem.is_some() { vec![] } else { vec![SampleFormat::I16, SampleFormat::I32] },
            rates: vec![(44_100, 44_100), (48_000, 48_000)],
            max_channels: 8,
            problem: problem.map(str::to_owned),
        }
    }

    #[test]
    fn prints_ids_to_paste_and_what_each_device_takes() {
        let mut out = Vec::new();
        print(&[info("alsa:hw:CARD=USB,DEV=0", None), info("alsa:default", Some("busy"))], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("id (paste into `device:`)"), "{text}");
        assert!(lines[1].starts_with("alsa:hw:CARD=USB,DEV=0  "), "{text}");
        assert!(lines[1].contains("i16 i32") && lines[1].contains("44100, 48000 Hz") && lines[1].contains("up to 8"));
        assert!(lines[2].starts_with("alsa:default") && lines[2].ends_with("[busy]"), "{text}");
        assert_eq!(lines[3], "2 output devices");
        // Columns line up.
        let col = lines[0].find("formats").unwrap();
        assert_eq!(&lines[1][col..col + 7], "i16 i32");
    }

    #[test]
    fn says_so_when_there_are_no_devices() {
        let mut out = Vec::new();
        print(&[], &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("no sound output devices found"));
    }
}
