//! The `xiangyin` command line: parses arguments and hands them to the library crate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use xiangyin::commands::{self, Paths};
use xiangyin::domain::{ClipKind, Priority, Role};

/// xiangyin (乡音) — village broadcast controller.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Folder holding schedules/, hardware-profiles/ and audio-library/.
    #[arg(long, global = true, default_value = ".", env = "XIANGYIN_ROOT")]
    root: PathBuf,
    /// Folder for runtime state (database, recordings, staging). Default: ROOT/var.
    #[arg(long, global = true, env = "XIANGYIN_STATE")]
    state: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check every configuration file; print each problem as file:line:col: message.
    Check {
        /// Hardware profile to check against (default: the one station.yaml names).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Import recordings (files or folders) into the clip library.
    Import {
        /// Files or folders to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Title (default: the file name without extension).
        #[arg(long)]
        title: Option<String>,
        /// Language tag, one of the station's languages (e.g. cmn, yue-qingxi).
        #[arg(long)]
        language: String,
        /// notice, song, clapper-talk, chime or other.
        #[arg(long)]
        kind: ClipKind,
        /// Message this recording is a variant of.
        #[arg(long)]
        message: Option<String>,
        /// What is said.
        #[arg(long)]
        transcript: Option<String>,
        /// Last day it may play (YYYY-MM-DD).
        #[arg(long)]
        expires: Option<String>,
        /// At most this many plays per village and day (default: no limit).
        #[arg(long)]
        max_plays_per_day: Option<u32>,
        /// Approve for playout right away (otherwise it waits for review).
        #[arg(long)]
        approve: bool,
        /// Print one JSON object per file.
        #[arg(long)]
        json: bool,
    },
    /// List the clips in the library.
    Clips {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Play the schedule for a time window offline, as fast as possible: one WAV per output and cues.csv.
    Render {
        /// Start, station time (2026-11-29T06:00) or RFC 3339.
        #[arg(long)]
        from: String,
        /// End (exclusive).
        #[arg(long)]
        to: String,
        /// Folder for the WAV files and cues.csv.
        #[arg(long)]
        out: PathBuf,
        /// Hardware profile (default: the one station.yaml names).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Show the as-run log: what the station did with each cue (a table in station time, or CSV).
    Log {
        /// Only this village (an id from villages.yaml).
        #[arg(long)]
        village: Option<String>,
        /// From this time on: today, yesterday, 2026-11-29, 2026-11-29T07:00 (station time) or RFC 3339.
        #[arg(long)]
        since: Option<String>,
        /// Print CSV (station times with their offset, clip titles) instead of the table.
        #[arg(long)]
        csv: bool,
    },
    /// Run the station: play every village's schedule, unattended, with a web page and /metrics.
    Serve {
        /// Hardware profile (default: the one station.yaml names; `virtual` when its card is missing).
        #[arg(long)]
        profile: Option<String>,
        /// Address for the web page, /healthz and /metrics.
        #[arg(long, default_value = "127.0.0.1:8080", env = "XIANGYIN_LISTEN")]
        listen: String,
        /// Largest upload accepted, in MB.
        #[arg(long, default_value_t = 200, env = "XIANGYIN_MAX_UPLOAD_MB")]
        max_upload_mb: u64,
        /// Health warns when the state disk has less free space than this, in MB.
        #[arg(long, default_value_t = 512, env = "XIANGYIN_DISK_WARN_MB")]
        disk_warn_mb: u64,
    },
    /// Manage the people who may use the web UI, and their API tokens.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// List the sound devices, with the ids to paste into a hardware profile.
    Devices,
    /// Play one clip on one village now (checks the wiring).
    Play {
        /// Village id.
        #[arg(long)]
        village: String,
        /// Clip id (see `xiangyin clips`).
        #[arg(long)]
        clip: String,
        /// manual (default) or emergency.
        #[arg(long, default_value = "manual", value_parser = ["manual", "emergency"])]
        priority: String,
        /// Hardware profile (default: the one station.yaml names).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Wiring checks of one village line, with the station stopped: `line test` plays the test
    /// tone and says what the line's capture tap heard; `line power` switches its amplifier.
    Line {
        #[command(subcommand)]
        action: LineAction,
    },
}

/// What `xiangyin line` does.
#[derive(Subcommand)]
enum LineAction {
    /// Power the village's amplifier (its lead-in), play the test tone, print what came back.
    Test {
        /// Village id.
        village: String,
        /// Hardware profile (default: the one station.yaml names).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Switch the village's amplifier relay on or off (it stays so).
    Power {
        /// Village id.
        village: String,
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        switch: String,
        /// Hardware profile (default: the one station.yaml names).
        #[arg(long)]
        profile: Option<String>,
    },
}

/// What `xiangyin user` does.
#[derive(Subcommand)]
enum UserAction {
    /// Add a user. The password is read as one line from standard input.
    Add {
        /// Login name: lower-case ascii letters, digits, `.`, `_` or `-` (e.g. wang.fang).
        name: String,
        /// admin, operator or uploader.
        #[arg(long)]
        role: Role,
    },
    /// List the users, their roles and the labels of their API tokens.
    List,
    /// Remove a user, with their sessions and API tokens.
    Remove {
        /// Login name.
        name: String,
    },
    /// Set a user's password, read as one line from standard input; their browsers must log in again.
    Passwd {
        /// Login name.
        name: String,
    },
    /// Give a user another role.
    Role {
        /// Login name.
        name: String,
        /// admin, operator or uploader.
        #[arg(long)]
        role: Role,
    },
    /// Make an API token for a user and print it. It is shown this once: the station keeps only its hash.
    Token {
        /// Login name.
        name: String,
        /// What the token is for (unique per user), e.g. phone.
        #[arg(long)]
        label: String,
    },
    /// Revoke a user's API token.
    Revoke {
        /// Login name.
        name: String,
        /// The token's label (see `xiangyin user list`).
        #[arg(long)]
        label: String,
    },
}

/// Log filter when RUST_LOG is not set: our own info, decoders only when something is wrong.
const DEFAULT_LOG: &str = "info,symphonia_core=off,symphonia_bundle_mp3=off,symphonia_bundle_flac=off,\
symphonia_format_ogg=off,symphonia_format_isomp4=off,symphonia_format_riff=off,symphonia_codec_aac=off,\
symphonia_codec_vorbis=off,symphonia_codec_pcm=off,symphonia_format_mkv=off,symphonia_format_caf=off,\
tokio_cron_scheduler=warn";

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        // `xiangyin clips --json | head`: the reader has all it wanted; like other Unix tools, stop
        // quietly rather than report the pipe the reader closed.
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xiangyin: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<bool> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG.into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let paths = Paths::new(&cli.root, cli.state.as_deref());
    // Not locked: logging from worker threads writes to stderr too.
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    match cli.command {
        Command::Check { profile } => {
            commands::check::run(&paths, profile.as_deref(), &mut out, &mut err).context("check")
        }
        Command::Import {
            files,
            title,
            language,
            kind,
            message,
            transcript,
            expires,
            max_plays_per_day,
            approve,
            json,
        } => {
            let tags = commands::import::Tags {
                title,
                language,
                kind,
                message,
                transcript,
                expires,
                max_plays_per_day,
                approve,
                uploader: format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "station".into())),
            };
            commands::import::run(&paths, &files, &tags, json, &mut out).context("import")
        }
        Command::Clips { json } => commands::clips::run(&paths, json, &mut out, &mut err).context("clips"),
        Command::Render { from, to, out: dir, profile } => {
            commands::render::run(&paths, profile.as_deref(), &from, &to, &dir, &mut out).context("render")
        }
        Command::Log { village, since, csv } => {
            commands::log::run(&paths, village.as_deref(), since.as_deref(), csv, &mut out).context("log")
        }
        Command::Devices => commands::devices::run(&mut out).context("devices"),
        Command::User { action } => {
            let mut stdin = std::io::stdin().lock();
            match action {
                UserAction::Add { name, role } => commands::user::add(&paths, &name, role, &mut stdin, &mut out),
                UserAction::List => commands::user::list(&paths, &mut out),
                UserAction::Remove { name } => commands::user::remove(&paths, &name, &mut out),
                UserAction::Passwd { name } => commands::user::passwd(&paths, &name, &mut stdin, &mut out),
                UserAction::Role { name, role } => commands::user::role(&paths, &name, role, &mut out),
                UserAction::Token { name, label } => commands::user::token(&paths, &name, &label, &mut out),
                UserAction::Revoke { name, label } => commands::user::revoke(&paths, &name, &label, &mut out),
            }
            .context("user")
        }
        Command::Serve { profile, listen, max_upload_mb, disk_warn_mb } => {
            let opts = xiangyin::daemon::Options { profile, listen, max_upload_mb, disk_warn_mb };
            xiangyin::daemon::serve(&paths, &opts).map(|()| true)
        }
        Command::Line { action: LineAction::Test { village, profile } } => {
            commands::line::test(&paths, profile.as_deref(), &village, &mut out).context("line test")
        }
        Command::Line { action: LineAction::Power { village, switch, profile } } => {
            commands::line::power(&paths, profile.as_deref(), &village, switch == "on", &mut out).context("line power")
        }
        Command::Play { village, clip, priority, profile } => {
            let priority = if priority == "emergency" { Priority::Emergency } else { Priority::Manual };
            commands::play::run(&paths, profile.as_deref(), &village, &clip, priority, &mut out).context("play")
        }
    }
}

/// Whether `e` is a write to a pipe whose reader has gone.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
