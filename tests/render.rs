//! `xiangyin render`: the schedule played offline through the engine, checked to the sample.

mod common;

use common::{Station, stdout};

/// A station with one village wired to channel 3 of the 8-channel recorder, one clip that starts
/// at full level on its first sample, and one slot at 07:00.
fn station() -> Station {
    let st = Station::new(false);
    for f in ["morning.yaml", "campaigns.yaml"] {
        std::fs::remove_file(st.root().join("schedules").join(f)).unwrap();
    }
    st.edit("schedules/station.yaml", "chime: chime", "chime: ding");
    let dir = tempfile::tempdir().unwrap();
    // 0.5 s of a DC level: its first sample is not zero, so the onset is visible to the sample.
    let tone = dir.path().join("notice.wav");
    common::write_wav(&tone, &vec![0.25; 24_000], 48_000, 1, 32, true);
    let chime = dir.path().join("ding.wav");
    common::write_wav(&chime, &common::sine(880.0, 0.5, 48_000, 1, 0.25), 48_000, 1, 32, true);
    for (file, msg, lang) in [(&tone, "notice", "cmn"), (&chime, "ding", "zxx")] {
        let out = st.run(&[
            "import",
            file.to_str().unwrap(),
            "--language",
            lang,
            "--kind",
            "notice",
            "--message",
            msg,
            "--approve",
        ]);
        assert!(out.status.success(), "{}", stdout(&out));
    }
    std::fs::write(
        st.root().join("schedules/test.yaml"),
        "playlists:\n  p: {items: [notice]}\nslots:\n  - {name: seven, cron: \"0 7 * * *\", playlist: p, targets: {villages: [nanjie]}}\n  - {name: eight, cron: \"0 8 * * *\", playlist: p, targets: {villages: [nanjie]}, chime: true}\n",
    )
    .unwrap();
    st
}

fn render(st: &Station, from: &str, to: &str, out: &std::path::Path) -> String {
    let o = st.run(&["render", "--from", from, "--to", to, "--out", out.to_str().unwrap(), "--profile", "virtual"]);
    assert!(o.status.success(), "{}{}", stdout(&o), common::stderr(&o));
    std::fs::read_to_string(out.join("cues.csv")).unwrap()
}

fn channels(path: &std::path::Path) -> Vec<Vec<i16>> {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (8, 48_000, 16));
    let all: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    (0..8).map(|c| all.iter().skip(c).step_by(8).copied().collect()).collect()
}

#[test]
fn a_cue_lands_on_its_exact_sample_on_its_village_channel_only() {
    let st = station();
    let out = tempfile::tempdir().unwrap();
    let csv = render(&st, "2026-12-01T06:59:59", "2026-12-01T07:00:02", out.path());
    let ch = channels(&out.path().join("rec.wav"));
    assert_eq!(ch[2].len(), 3 * 48_000);
    // nanjie is wired to rec:3 in the virtual profile.
    let onset = ch[2].iter().position(|s| *s != 0).expect("the notice is heard");
    assert_eq!(onset, 48_000, "07:00:00 is one second into the window");
    for (i, c) in ch.iter().enumerate() {
        if i != 2 {
            assert!(c.iter().all(|s| *s == 0), "channel {} must be silent", i + 1);
        }
    }
    // Level after the 30 ms fade-in: 0.25 × the loudness gain (the clip is at −15.05 LUFS...).
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    let f: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(&f[1..3], ["nanjie", "nanjie"]);
    assert_eq!(f[4], "cmn");
    assert_eq!(f[5], "scheduled");
    assert_eq!(f[6], "2026-12-01T07:00:00+08:00");
    assert_eq!(f[7], "48000");
    assert_eq!(f[8], (48_000 + 24_000).to_string());
    assert_eq!(f[9], "played");
    assert_eq!(f[11], "seven");
    // The notice ends with a fade: the last sample before the end is near zero, then silence.
    assert!(ch[2][48_000 + 23_999].abs() < 100);
    assert!(ch[2][48_000 + 24_000..].iter().all(|s| *s == 0));
}

#[test]
fn a_chime_precedes_the_notice_and_the_csv_says_so() {
    let st = station();
    let out = tempfile::tempdir().unwrap();
    let csv = render(&st, "2026-12-01T07:59:59", "2026-12-01T08:00:02", out.path());
    let line = csv.lines().nth(1).unwrap();
    let f: Vec<&str> = line.split(',').collect();
    assert_eq!(f[7], "48000");
    assert_eq!(f[8], (48_000 + 12_000 + 24_000).to_string(), "chime 0.25 s + notice 0.5 s");
    assert!(!f[10].is_empty(), "chime clip named: {line}");
    let ch = channels(&out.path().join("rec.wav"));
    // During the chime the signal swings both ways; during the notice it is a positive level.
    assert!(ch[2][48_000 + 3_000..48_000 + 9_000].iter().any(|s| *s < -1000));
    assert!(ch[2][48_000 + 12_000 + 3_000..48_000 + 12_000 + 20_000].iter().all(|s| *s > 1000));
}

#[test]
fn two_renders_of_the_same_window_are_bit_identical() {
    let st = Station::new(true);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    render(&st, "2026-12-01T11:29:50", "2026-12-01T11:30:40", a.path());
    render(&st, "2026-12-01T11:29:50", "2026-12-01T11:30:40", b.path());
    for f in ["rec.wav", "cues.csv"] {
        assert_eq!(std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap(), "{f} differs");
    }
}

#[test]
fn the_demo_noon_programme_reaches_only_the_township_it_targets() {
    let st = Station::new(true);
    let out = tempfile::tempdir().unwrap();
    let csv = render(&st, "2026-12-01T11:29:50", "2026-12-01T11:30:40", out.path());
    let villages: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(villages, ["shiqiao", "liutang", "huangni", "xiabei", "shiqiao", "liutang", "huangni", "xiabei"]);
    assert!(csv.lines().skip(1).all(|l| l.contains(",played,")), "{csv}");
    let ch = channels(&out.path().join("rec.wav"));
    for (i, c) in ch.iter().enumerate() {
        let heard = c.iter().any(|s| *s != 0);
        assert_eq!(heard, i >= 4, "channel {} (石桥乡 is wired to rec:5..rec:8)", i + 1);
        // Nothing ever exceeds the profile ceiling of −1 dBFS.
        let ceiling = (32768.0 * 10f64.powf(-1.0 / 20.0)) as i16;
        assert!(c.iter().all(|s| s.unsigned_abs() <= ceiling as u16));
    }
}

#[test]
fn the_limiter_holds_when_eight_villages_play_loud_clips_at_once() {
    // Every village turned up by 12 dB and a clip with high peaks (a quiet tone with sharp clicks,
    // so loudness normalisation leaves its peaks near −1 dBTP) on all eight channels at the same
    // instant: the clicks would reach +11 dBFS; no sample may pass the profile's −1 dBFS.
    let st = station();
    let dir = tempfile::tempdir().unwrap();
    let loud = dir.path().join("loud.wav");
    let wave: Vec<f64> = (0..48_000)
        .map(|i| {
            if i % 4_800 == 100 {
                0.9
            } else {
                0.05 * (2.0 * std::f64::consts::PI * 1000.0 * f64::from(i) / 48_000.0).sin()
            }
        })
        .collect();
    common::write_wav(&loud, &wave, 48_000, 1, 16, false);
    let out = st.run(&[
        "import",
        loud.to_str().unwrap(),
        "--language",
        "cmn",
        "--kind",
        "other",
        "--message",
        "loud",
        "--approve",
    ]);
    assert!(out.status.success(), "{}", stdout(&out));
    let villages = std::fs::read_to_string(st.root().join("schedules/villages.yaml")).unwrap();
    let villages = villages.replace("    languages: [", "    volume_db: {\"00:00\": 12}\n    languages: [");
    let villages = villages.replace("    volume_db: {\"06:30\": -6, \"08:00\": 0, \"20:00\": -6}\n", "");
    std::fs::write(st.root().join("schedules/villages.yaml"), villages).unwrap();
    std::fs::write(
        st.root().join("schedules/test.yaml"),
        "playlists:\n  p: {items: [loud]}\nslots:\n  - {name: all, cron: \"0 10 * * *\", playlist: p, targets: {all: true}}\n",
    )
    .unwrap();
    let rendered = tempfile::tempdir().unwrap();
    let csv = render(&st, "2026-12-01T09:59:59", "2026-12-01T10:00:02", rendered.path());
    assert_eq!(csv.lines().count(), 9, "{csv}");
    // Integer outputs scale by 2^15 (see output/sample.rs): −1 dBFS is 29204.9.
    let ceiling = (32768.0 * 10f64.powf(-1.0 / 20.0)).floor() as u16;
    let ch = channels(&rendered.path().join("rec.wav"));
    for (i, c) in ch.iter().enumerate() {
        let peak = c.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak <= ceiling, "channel {}: peak {peak} > ceiling {ceiling}", i + 1);
        assert!(
            u32::from(peak) > u32::from(ceiling) * 9 / 10,
            "channel {}: the clip should be loud, peak {peak}",
            i + 1
        );
    }
}

#[test]
fn on_a_holiday_villages_keep_their_holiday_quiet_hours() {
    // 2027-01-01 is a Friday and a holiday in the demo calendar: 东门村's holiday (= weekend) quiet
    // hours last until 07:30, so its 07:00 notice waits; on the Friday before it plays at 07:00.
    let st = Station::new(true);
    let holiday = tempfile::tempdir().unwrap();
    let csv = render(&st, "2027-01-01T06:59:59", "2027-01-01T07:00:05", holiday.path());
    let dongmen = csv.lines().find(|l| l.contains(",dongmen,")).expect("dongmen is planned");
    assert!(
        dongmen.contains(",2027-01-01T07:00:00+08:00,,,deferred-not-started-in-window,"),
        "deferred past the window on the holiday: {dongmen}"
    );
    let friday = tempfile::tempdir().unwrap();
    let csv = render(&st, "2026-12-25T06:59:59", "2026-12-25T07:00:05", friday.path());
    let dongmen = csv.lines().find(|l| l.contains(",dongmen,")).expect("dongmen is planned");
    assert!(dongmen.contains(",48000,"), "plays at 07:00 on an ordinary Friday: {dongmen}");
}
