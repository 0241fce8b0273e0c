//! Who may do what: the three roles of the web UI and the actions they allow.
//!
//! | action | admin | operator | uploader |
//! |---|---|---|---|
//! | upload | yes | yes | yes |
//! | edit-own-clips | yes | yes | yes |
//! | review | yes | yes | – |
//! | edit-playlists | yes | yes | – |
//! | broadcast | yes | yes | – |
//! | manage-users | yes | – | – |
//! | manage-station | yes | – | – |

use std::fmt;

/// A user's role. The names (`admin`, `operator`, `uploader`) are stable: they are stored in the
/// station database and typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything, including users and station settings.
    Admin,
    /// Runs the broadcasts: plays now, edits playlists, reviews and uploads clips.
    Operator,
    /// Records for the station: uploads clips and edits their own.
    Uploader,
}

/// Something a person asks the station to do, checked against their [`Role`] with [`Role::allows`].
/// The names are stable (kebab-case), for logs and the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Upload a recording into the clip library.
    Upload,
    /// Change or withdraw the clips one uploaded oneself (title, transcript, expiry).
    EditOwnClips,
    /// Approve or reject clips for playout (and correct their details while doing so).
    Review,
    /// Edit playlists, messages and slots.
    EditPlaylists,
    /// Broadcast now: manual and emergency plays, the live microphone, stopping a play.
    Broadcast,
    /// Add, change and remove users and API tokens; read the audit log.
    ManageUsers,
    /// Change the station's settings: villages, wiring, quiet hours, volumes.
    ManageStation,
}

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Uploader];

    /// The stable name: `admin`, `operator` or `uploader`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Uploader => "uploader",
        }
    }

    /// True when a user with this role may do `action` (the table in this module's docs): admin
    /// everything; operator broadcast, playlists, review and upload; uploader upload and their own
    /// clips.
    pub fn allows(self, action: Action) -> bool {
        match self {
            Role::Admin => true,
            Role::Operator => !matches!(action, Action::ManageUsers | Action::ManageStation),
            Role::Uploader => matches!(action, Action::Upload | Action::EditOwnClips),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("`{s}` is not a role (one of: admin, operator, uploader)"))
    }
}

impl Action {
    /// All actions, in the order of the table in this module's docs.
    pub const ALL: [Action; 7] = [
        Action::Upload,
        Action::EditOwnClips,
        Action::Review,
        Action::EditPlaylists,
        Action::Broadcast,
        Action::ManageUsers,
        Action::ManageStation,
    ];

    /// The stable name, e.g. `edit-own-clips`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Upload => "upload",
            Action::EditOwnClips => "edit-own-clips",
            Action::Review => "review",
            Action::EditPlaylists => "edit-playlists",
            Action::Broadcast => "broadcast",
            Action::ManageUsers => "manage-users",
            Action::ManageStation => "manage-station",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_display_and_serde() {
        for r in Role::ALL {
            assert_eq!(r.name().parse::<Role>(), Ok(r));
            assert_eq!(r.to_string(), r.name());
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        for a in Action::ALL {
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        let e = "Admin".parse::<Role>().unwrap_err();
        assert!(e.contains("admin, operator, uploader"), "{e}");
    }
}
