//! `xiangyin check`: the shipped configuration passes, and every kind of mistake is named with
//! its file, line and column.

mod common;

use std::path::Path;

use common::{Station, stdout, xiangyin};

#[test]
fn shipped_demo_configuration_passes_with_every_profile() {
    // The demo as git has it, not what `make run` left in the working tree.
    let demo = tempfile::tempdir().unwrap();
    common::copy_demo(demo.path());
    for profile in ["default", "virtual"] {
        let out = xiangyin(demo.path(), &["check", "--profile", profile]);
        let text = stdout(&out);
        assert!(out.status.success(), "profile {profile}: {text}{}", common::stderr(&out));
        assert!(text.starts_with("ok: 8 villages in 2 townships, 3 slots, 7 clips (7 approved), profile "), "{text}");
        assert!(text.contains("next cue"), "{text}");
    }
}

#[test]
fn every_shipped_yaml_file_is_read_by_a_check() {
    // Each YAML file in the content folders must be one the checker reads, so a typo in any of them
    // is caught: break each in turn and expect `check` to name that file (the shipped ones).
    let demo = tempfile::tempdir().unwrap();
    common::copy_demo(demo.path());
    let root = demo.path().to_owned();
    let mut files = Vec::new();
    for dir in ["schedules", "hardware-profiles"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(format!("{dir}/{}", p.file_name().unwrap().to_str().unwrap()));
            }
        }
    }
    assert!(files.len() >= 6, "{files:?}");
    for file in files {
        let st = Station::new(true);
        let path = st.root().join(&file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\nnot_a_key_anyone_uses: 1\n")).unwrap();
        let profile = Path::new(&file).file_stem().unwrap().to_str().unwrap();
        let args: Vec<&str> =
            if file.starts_with("hardware-profiles") { vec!["check", "--profile", profile] } else { vec!["check"] };
        let out = st.run(&args);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{file}: {text}");
        assert!(
            text.contains(&format!("{file}:")) && text.contains("unknown key `not_a_key_anyone_uses`"),
            "{file}: {text}"
        );
    }
}

/// A small station of our own, so line and column numbers do not move when the demo changes.
fn mini_station() -> Station {
    let st = Station::new(false);
    for f in ["morning.yaml", "campaigns.yaml"] {
        std::fs::remove_file(st.root().join("schedules").join(f)).unwrap();
    }
    std::fs::write(
        st.root().join("schedules/station.yaml"),
        "timezone: Asia/Shanghai\nlanguages: [cdo-yongtai, cmn]\nhardware_profile: wired\n",
    )
    .unwrap();
    std::fs::write(
        st.root().join("schedules/villages.yaml"),
        "\
villages:
  - id: dongmen
    name: 东门村
    township: 城关镇
    grids: [g-012, g-013]
    zone: dongmen
    languages: [cdo-yongtai, cmn]
    quiet_hours: {weekdays: \"21:30-06:30\", weekends: \"21:30-07:30\"}
  - id: xicun
    name: 西村
    township: 城关镇
    zone: xicun
    languages: [cmn]
",
    )
    .unwrap();
    std::fs::write(
        st.root().join("schedules/morning.yaml"),
        "\
playlists:
  morning-news: {mode: rotate, items: [test-tone], gap_s: 3}
slots:
  - {cron: \"0 7 * * *\", playlist: morning-news, targets: {townships: [城关镇]}}
",
    )
    .unwrap();
    std::fs::write(
        st.root().join("hardware-profiles/wired.yaml"),
        "\
outputs:
  - {name: rec, kind: wav, rate: 48000, format: i16, channels: 8}
zones: {dongmen: [rec:1], xicun: [rec:2]}
",
    )
    .unwrap();
    let wav = st.root().join("tone.wav");
    common::write_wav(&wav, &common::sine(440.0, 0.3, 48_000, 1, 1.0), 48_000, 1, 16, false);
    let out =
        st.run(&["import", wav.to_str().unwrap(), "--language", "cmn", "--kind", "notice", "--message", "test-tone"]);
    assert!(out.status.success(), "{}", stdout(&out));
    st
}

#[test]
fn the_mini_station_is_clean() {
    let st = mini_station();
    let out = st.run(&["check"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("ok: 2 villages in 1 townships, 1 slots, 1 clips (0 approved), profile wired"));
}

#[test]
fn three_planted_mistakes_are_all_named_with_file_line_col() {
    let st = mini_station();
    st.edit("schedules/villages.yaml", "zone: xicun", "zone: xicun-east");
    st.edit("schedules/morning.yaml", "townships: [城关镇]", "townships: [城关]");
    st.edit("schedules/morning.yaml", "playlist: morning-news", "playlist: morning-nwes");
    let out = st.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "\
schedules/morning.yaml:4:35: unknown playlist `morning-nwes` (known: morning-news)
schedules/morning.yaml:4:71: unknown township `城关` (known: 城关镇)
schedules/villages.yaml:12:11: zone `xicun-east` is not wired in hardware profile `wired` (wired zones: dongmen, xicun)
"
    );
    assert!(common::stderr(&out).contains("3 problems found"));
}

#[test]
fn every_kind_of_reference_and_rule_mistake_is_reported_at_its_place() {
    let st = mini_station();
    st.edit("schedules/villages.yaml", "languages: [cmn]", "languages: [yue]");
    st.edit("schedules/villages.yaml", "weekdays: \"21:30-06:30\"", "weekdays: [\"21:30-06:30\", \"05:00-07:00\"]");
    st.edit("schedules/villages.yaml", "weekends: \"21:30-07:30\"", "weekends: \"21:30-7\"");
    st.edit("schedules/morning.yaml", "items: [test-tone]", "items: [test-tone, no-such-message]");
    st.edit("schedules/morning.yaml", "cron: \"0 7 * * *\"", "cron: \"0 7 31 2 *\"");
    std::fs::write(
        st.root().join("schedules/extra.yaml"),
        "slots:\n  - {cron: \"0 8 * * *\", playlist: morning-news, targets: {villages: [nanmen]}}\n",
    )
    .unwrap();
    let out = st.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let expected = [
        "schedules/extra.yaml:2:70: unknown village `nanmen`",
        "schedules/morning.yaml:2:51: message `no-such-message` has no clip in audio-library (import one with --message no-such-message)",
        "schedules/morning.yaml:4:12: cron `0 7 31 2 *` never fires in the next 8 years",
        "schedules/villages.yaml:8:45: quiet hours 05:00-07:00 overlap 21:30-06:30 (entry 1 of weekdays); merge them into one window",
        "schedules/villages.yaml:8:71: `21:30-7` is not a time window: write HH:MM-HH:MM, e.g. 21:30-06:30",
        "schedules/villages.yaml:13:17: language `yue` is not in the station's list (cdo-yongtai, cmn)",
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{text}");
}

#[test]
fn yaml_typos_are_reported_with_line_and_column() {
    let st = mini_station();
    st.edit(
        "schedules/villages.yaml",
        "    township: 城关镇\n    zone: xicun",
        "    township: 城关镇\n    zonne: xicun",
    );
    st.edit(
        "hardware-profiles/wired.yaml",
        "zones: {dongmen: [rec:1], xicun: [rec:2]}",
        "zones: {dongmen: [rec:1], xicun: [rec:2]]",
    );
    let out = st.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], "hardware-profiles/wired.yaml:3:41: did not find expected ',' or '}'");
    assert_eq!(
        lines[1],
        "schedules/villages.yaml:12:5: villages[1]: unknown key `zonne`, expected one of `id`, `name`, `township`, `grids`, `zone`, `languages`, `quiet_hours`, `volume_db`, `line_test`"
    );
}

#[test]
fn a_missing_profile_and_a_bad_timezone_are_named() {
    let st = mini_station();
    st.edit("schedules/station.yaml", "Asia/Shanghai", "Asia/Shangai");
    let out = st.run(&["check", "--profile", "studio"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "hardware-profiles/studio.yaml:1:1: no hardware profile named `studio` (known: default, village-lines, virtual, wired)"
        ),
        "{text}"
    );
    assert!(text.contains("schedules/station.yaml:1:11: `Asia/Shangai` is not an IANA time zone"), "{text}");
}

#[test]
fn holiday_calendar_mistakes_are_named_at_their_place() {
    let st = mini_station();
    std::fs::write(
        st.root().join("schedules/holidays.yaml"),
        "holidays:\n  - 2027-01-01\n  - 2027-02-30\n  - 2027-02-12..2027-02-06\n  - 2027-02-06..2028-02-12\n",
    )
    .unwrap();
    let out = st.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        [
            "schedules/holidays.yaml:3:5: `2027-02-30` is not a date or a range: write 2026-10-01 or 2026-10-01..2026-10-07",
            "schedules/holidays.yaml:4:5: holiday range `2027-02-12..2027-02-06` ends before it starts",
            "schedules/holidays.yaml:5:5: holiday range `2027-02-06..2028-02-12` is longer than 60 days; is a year mistyped?",
        ]
    );
}

#[test]
fn language_names_must_name_the_station_languages() {
    let st = mini_station();
    st.edit(
        "schedules/station.yaml",
        "hardware_profile: wired\n",
        "hardware_profile: wired\nlanguage_names:\n  cmn: {zh: 普通话, en: Mandarin}\n  yue: {zh: 粤语}\n  cdo-yongtai: {}\n",
    );
    let out = st.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "\
schedules/station.yaml:6:3: language_names names `yue`, which is not in the station's languages
schedules/station.yaml:7:16: give `cdo-yongtai` a name people know, e.g. {zh: 普通话, en: Mandarin}
"
    );
    st.edit("schedules/station.yaml", "  yue: {zh: 粤语}\n  cdo-yongtai: {}\n", "  cdo-yongtai: {zh: 永泰话}\n");
    let out = st.run(&["check"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn tests_take_the_demo_as_git_has_it_not_what_make_run_left_in_the_working_tree() {
    // A clone of this repository where someone tried the station: uploaded a clip, saved a
    // village's own playlist, hand-edited villages.yaml and deleted a shipped clip.
    let tmp = tempfile::tempdir().unwrap();
    let clone = tmp.path().join("repo");
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git").args(args).output().expect("run git");
        assert!(o.status.success(), "git {args:?}: {}", common::stderr(&o));
    };
    git(&["clone", "--quiet", "--local", common::repo().to_str().unwrap(), clone.to_str().unwrap()]);
    let shipped: Vec<String> = {
        let o = std::process::Command::new("git")
            .args(["-C", clone.to_str().unwrap(), "ls-files", "schedules", "hardware-profiles", "audio-library"])
            .output()
            .unwrap();
        common::stdout(&o).lines().map(str::to_owned).collect()
    };
    assert!(shipped.iter().any(|f| f.ends_with("villages.yaml")), "{shipped:?}");
    let uploaded = clone.join("audio-library/00112233aabbccdd");
    std::fs::create_dir_all(&uploaded).unwrap();
    std::fs::write(uploaded.join("clip.yaml"), "title: 我刚上传的\n").unwrap();
    std::fs::write(clone.join("schedules/village-dongmen.yaml"), "playlists: {}\n").unwrap();
    let villages = clone.join("schedules/villages.yaml");
    let committed = std::fs::read_to_string(&villages).unwrap();
    std::fs::write(&villages, format!("{committed}\n  - id: broken\n")).unwrap();
    let removed = shipped.iter().find(|f| f.starts_with("audio-library/") && f.ends_with("clip.yaml")).unwrap();
    std::fs::remove_file(clone.join(removed)).unwrap();

    let dest = tmp.path().join("copy");
    common::copy_demo_from(&clone, &dest);
    let mut copied: Vec<String> =
        walk(&dest).iter().map(|p| p.strip_prefix(&dest).unwrap().display().to_string()).collect();
    copied.sort();
    let mut want = shipped.clone();
    want.sort();
    assert_eq!(copied, want, "exactly the shipped demo files");
    assert_eq!(std::fs::read_to_string(dest.join("schedules/villages.yaml")).unwrap(), committed);
    // And the copy is a clean station.
    let out = common::xiangyin(&dest, &["check", "--profile", "virtual"]);
    assert!(out.status.success(), "{}", common::stdout(&out));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn mistakes_in_the_village_line_wiring_are_named_where_they_are() {
    let st = mini_station();
    std::fs::write(
        st.root().join("hardware-profiles/wired.yaml"),
        "\
outputs:
  - {name: rec, kind: wav, rate: 48000, format: i16, channels: 8}
zones: {dongmen: [rec:1], xicun: [rec:2]}
relays:
  - {name: amps, kind: board, channels: 4}
  - {name: plc, kind: modbus, port: /dev/ttyUSB1}
  - {name: pins, kind: relay-hat, chip: /dev/gpiochip0}
power:
  dongmen: {relay: \"plc:1\", lead_in_s: 20}
  xicun: {relay: \"amps:9\"}
  beicun: {relay: \"plc:2\"}
inputs:
  - {name: taps, device: \"alsa:taps\", channels: 2}
monitor:
  dongmen: taps:3
  xicun: {input: \"mic:1\"}
",
    )
    .unwrap();
    let out = st.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let f = "hardware-profiles/wired.yaml";
    for want in [
        format!("{f}:5:24: relay `amps` needs `port:` — its serial port, e.g. /dev/ttyUSB0"),
        format!("{f}:7:24: relay kind `relay-hat` is not one of board, modbus, gpio"),
        format!("{f}:9:40: lead_in_s 20 is outside 0..8"),
        format!("{f}:10:18: no relay named `amps` (relays: plc)"),
        format!("{f}:11:3: `power:` names zone `beicun`, which `zones:` does not wire (zones: dongmen, xicun)"),
        format!("{f}:15:12: `taps:3` is not a capture channel: write input:N (inputs: taps (1..2))"),
        format!("{f}:16:10: `mic:1` is not a capture channel"),
    ] {
        assert!(text.contains(&want), "expected `{want}` in:\n{text}");
    }
}
