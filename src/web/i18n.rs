//! The words of the web pages in Chinese (zh-CN, the default) and English.
//!
//! Every text is one variant of [`M`] with both translations side by side, so a missing
//! translation does not compile. Pages ask `lang.t(M::Login)`; the page's JavaScript gets the
//! whole table of its language as JSON ([`Lang::js_table`]) and looks words up by the variant's
//! name (`t('UploadDone')`). Placeholders are `{name}`, filled by [`fill`].
//!
//! The language comes from `?lang=en|zh` (which also sets the cookie `xy_lang` for a year), else
//! from the cookie, else Chinese. Sentences from the API (refusals, problems) are English only and
//! are shown as they come.

use serde_json::{Map, Value};

/// The name of the cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "xy_lang";

pub use crate::domain::Lang;

/// The words of the pages in a language.
pub trait Words {
    /// The text of `m` in this language.
    fn t(self, m: M) -> &'static str;
    /// Every text of this language as a JSON object keyed by the variant's name, for the pages'
    /// JavaScript; under `_names`, the words for the station's stable names ([`Words::name_of`]).
    fn js_table(self) -> Value;
    /// The word for a stable name used by the station (a role, priority, review state, clip kind,
    /// as-run outcome, playlist mode or day-plan outcome); the name itself when there is none.
    fn name_of(self, name: &str) -> String;
}

impl Words for Lang {
    fn t(self, m: M) -> &'static str {
        match self {
            Lang::Zh => m.zh(),
            Lang::En => m.en(),
        }
    }

    fn js_table(self) -> Value {
        let mut map: Map<String, Value> =
            M::ALL.iter().map(|m| (m.key().to_owned(), Value::from(self.t(*m)))).collect();
        let names: Map<String, Value> = NAMES.iter().map(|(n, m)| ((*n).to_owned(), Value::from(self.t(*m)))).collect();
        map.insert("_names".to_owned(), Value::Object(names));
        Value::Object(map)
    }

    fn name_of(self, name: &str) -> String {
        match M::for_name(name) {
            Some(m) => self.t(m).to_owned(),
            None => name.to_owned(),
        }
    }
}

/// `template` with every `{key}` replaced by its value.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_owned(), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
}

macro_rules! messages {
    ($($id:ident: $zh:literal, $en:literal;)*) => {
        /// One text of the pages (see the module documentation).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum M {
            $(
                #[doc = $en]
                $id,
            )*
        }

        impl M {
            /// Every text.
            pub const ALL: &[M] = &[$(M::$id),*];

            /// The Chinese text.
            pub fn zh(self) -> &'static str {
                match self { $(M::$id => $zh),* }
            }

            /// The English text.
            pub fn en(self) -> &'static str {
                match self { $(M::$id => $en),* }
            }

            /// The variant's name: the key the JavaScript uses.
            pub fn key(self) -> &'static str {
                match self { $(M::$id => stringify!($id)),* }
            }
        }
    };
}

/// Stable names of the station (roles, priorities, review states, clip kinds, playlist modes,
/// as-run and day-plan outcomes, item states, kinds of day, quiet-hour rules) and their text.
const NAMES: &[(&str, M)] = &[
    ("admin", M::RoleAdmin),
    ("operator", M::RoleOperator),
    ("uploader", M::RoleUploader),
    ("emergency", M::PrioEmergency),
    ("live", M::PrioLive),
    ("manual", M::PrioManual),
    ("scheduled", M::PrioScheduled),
    ("background", M::PrioBackground),
    ("pending", M::Pending),
    ("approved", M::Approved),
    ("rejected", M::Rejected),
    ("notice", M::KindNotice),
    ("song", M::KindSong),
    ("clapper-talk", M::KindClapperTalk),
    ("chime", M::KindChime),
    ("other", M::KindOther),
    ("in-order", M::ModeInOrder),
    ("rotate", M::ModeRotate),
    ("shuffle", M::ModeShuffle),
    ("played", M::OutPlayed),
    ("preempted", M::OutPreempted),
    ("resumed", M::OutResumed),
    ("late", M::OutLate),
    ("missed", M::OutMissed),
    ("skipped-quiet-hours", M::OutSkippedQuiet),
    ("skipped-expired", M::OutSkippedExpired),
    ("skipped-holiday", M::OutSkippedHoliday),
    ("skipped-max-plays", M::OutSkippedMaxPlays),
    ("no-variant", M::OutNoVariant),
    ("failed-output", M::OutFailedOutput),
    ("stopped", M::OutStopped),
    ("planned", M::OutPlanned),
    ("on-air", M::OutOnAir),
    ("play", M::OutPlay),
    ("deferred", M::OutDeferred),
    ("playable", M::ItemPlayable),
    ("expired", M::ItemExpired),
    ("weekday", M::Weekday),
    ("weekend", M::Weekend),
    ("holiday", M::Holiday),
    ("skip", M::QuietSkip),
    ("defer", M::QuietDefer),
];

impl M {
    /// The text for a stable name of the station (see [`Lang::name_of`]).
    pub fn for_name(name: &str) -> Option<M> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
    }
}

messages! {
    AppName: "乡音广播", "Xiangyin broadcast";
    NavDashboard: "总览", "Overview";
    NavLibrary: "录音库", "Library";
    NavBroadcast: "广播", "Broadcast";
    NavLog: "播出记录", "As-run log";
    NavUsers: "用户", "Users";
    Logout: "退出", "Log out";
    LangSwitch: "语言", "Language";
    RoleAdmin: "管理员", "admin";
    RoleOperator: "播音员", "operator";
    RoleUploader: "上传员", "uploader";
    ForbiddenTitle: "无权使用", "Not allowed";
    ForbiddenPage: "你的角色（{role}）不能使用这个页面。", "Your role ({role}) may not use this page.";
    NotFoundTitle: "找不到", "Not found";
    VillageNotFound: "没有这个村：{id}。", "There is no village {id}.";
    BackHome: "回到总览", "Back to the overview";
    Loading: "正在加载…", "Loading…";
    NetworkError: "连不上广播站，请检查网络后重试。", "Cannot reach the station; check the network and try again.";
    Saved: "已保存。", "Saved.";
    Cancel: "取消", "Cancel";
    Nothing: "无", "nothing";
    Error: "出错了", "Something went wrong";

    LoginTitle: "登录", "Log in";
    Name: "用户名", "Name";
    Password: "密码", "Password";
    LoginSubmit: "登录", "Log in";
    LoggingIn: "正在登录…", "Logging in…";
    SetupTitle: "创建第一个管理员", "Create the first admin";
    SetupIntro: "这个广播站还没有用户。请为自己创建管理员账号。", "This station has no users yet. Create your admin account.";
    SetupSubmit: "创建并登录", "Create and log in";
    SetupNoToken: "这个链接缺少设置令牌，请使用 serve 启动时打印的链接。", "This link lacks its setup token; use the link serve printed when it started.";
    SetupDone: "这个广播站已经有用户了，请直接登录。", "This station already has users; log in instead.";
    PasswordHint: "至少 8 个字符", "At least 8 characters";
    NameHint: "小写字母、数字、. _ -", "Lower-case letters, digits, . _ -";

    DashboardTitle: "各村广播", "Villages";
    NowPlaying: "正在播", "Now playing";
    NextCue: "下一条", "Next";
    Output: "输出", "Output";
    OutputUp: "正常", "playing";
    RecordedOnly: "只录音，不出声（配置里没有声卡）", "recorded only, no loudspeaker (the profile has no sound card)";
    OutputDown: "故障", "down";
    LineLabel: "线路", "Line";
    NotReaching: "听不到", "not heard";
    AlertNotHeard: "各村听不到广播", "The villages hear nothing";
    AlertSomeNotHeard: "有的村听不到广播", "Some villages hear nothing";
    AlertDegraded: "广播站出了问题", "The station has a problem";
    StationLost: "与广播站失去联系：这一页显示的内容可能已经过时（{secs} 秒前最后收到广播站的消息）", "Lost contact with the station: what this page shows may be out of date (last heard from it {secs} s ago)";
    StationBack: "已重新连上广播站", "In contact with the station again";
    Listen: "▶ 监听", "▶ Listen";
    StopListening: "■ 停止监听", "■ Stop listening";
    LiveConnected: "实时更新中", "Live";
    LivePolling: "每 5 秒刷新", "Refreshing every 5 s";
    LiveLost: "更新中断，正在重试…", "Updates lost; retrying…";
    ScheduleLink: "节目单", "Schedule";
    Zone: "分区", "Zone";
    NoVillages: "还没有配置村庄（schedules/villages.yaml）。", "No villages are configured yet (schedules/villages.yaml).";

    LibraryTitle: "录音库", "Clip library";
    UploadTitle: "上传录音", "Upload a recording";
    DropHere: "把录音文件拖到这里，或者", "Drop a recording here, or";
    ChooseFile: "选择文件", "choose a file";
    NoFileChosen: "还没有选择文件", "No file chosen";
    Title: "标题", "Title";
    Language: "语言", "Language";
    Kind: "类型", "Kind";
    Message: "消息名", "Message";
    MessageHint: "同一条通知的各个语言版本用同一个消息名，例如 fire-safety", "Give each language's version of one notice the same message name, e.g. fire-safety";
    Transcript: "文字稿", "Transcript";
    Expires: "最后播放日期", "Last day to play";
    MaxPlays: "每天最多播放次数", "Most plays per day";
    UploadSubmit: "上传", "Upload";
    Uploading: "正在上传…", "Uploading…";
    Importing: "正在处理（测量响度）…", "Processing (measuring loudness)…";
    ImportQueued: "已上传，排队等待处理：前面还有 {ahead} 个", "Uploaded; waiting its turn to be processed: {ahead} ahead";
    UploadDone: "已导入：", "Imported:";
    UploadExisting: "这个文件已经在录音库里了：", "This file is already in the library:";
    ChooseFileFirst: "请先选择一个录音文件。", "Choose a recording first.";
    ChooseLanguage: "请选择录音里说的语言", "Choose the language spoken";
    ChooseLanguageFirst: "请选择录音里说的语言。", "Choose the language spoken in the recording.";
    IntegratedLufs: "整体响度", "Integrated loudness";
    TruePeak: "真峰值", "True peak";
    Gain: "增益", "Gain";
    Duration: "时长", "Duration";
    Seconds: "秒", "s";
    Filter: "筛选", "Filter";
    All: "全部", "All";
    Review: "审核", "Review";
    Pending: "待审核", "pending";
    Approved: "已通过", "approved";
    Rejected: "已退回", "rejected";
    Search: "搜索", "Search";
    Approve: "通过", "Approve";
    Reject: "退回", "Reject";
    RejectReason: "退回原因", "Reason for rejecting";
    ReasonNeeded: "请写明退回原因。", "Write why it is rejected.";
    Reason: "原因", "Reason";
    Uploader: "上传者", "Uploaded by";
    NoClips: "没有符合条件的录音。", "No clips match.";
    Original: "下载原始文件", "Download the original";
    KindNotice: "通知", "notice";
    KindSong: "歌曲", "song";
    KindClapperTalk: "快板", "clapper talk";
    KindChime: "提示音", "chime";
    KindOther: "其他", "other";
    Clips: "录音", "Clips";
    Messages: "消息", "Messages";
    Done: "完成。", "Done.";

    Township: "乡镇", "Township";
    Languages: "语言顺序", "Language order";
    QuietHours: "静音时段", "Quiet hours";
    Weekday: "工作日", "weekday";
    Weekend: "周末", "weekend";
    Holiday: "节假日", "holiday";
    Volume: "音量", "Volume";
    DayPicture: "一天的安排", "The day";
    Date: "日期", "Date";
    Slots: "播出时段", "Slots";
    SharedSlot: "共用时段，在 {file} 中修改", "shared slot, edit it in {file}";
    OwnSlot: "本村时段", "this village's own slot";
    ItemPlayable: "可播", "playable";
    ItemExpired: "已过期", "expired";
    PlaylistEditor: "本村播放列表", "This village's playlist";
    Mode: "播放方式", "Mode";
    ModeInOrder: "按顺序", "in order";
    ModeRotate: "轮流（每次一条）", "rotate (one per slot)";
    ModeShuffle: "随机不重复", "shuffle";
    Gap: "间隔（秒）", "Gap (s)";
    Repeat: "重复次数", "Repeat";
    AddItem: "添加", "Add";
    MoveUp: "上移", "Move up";
    MoveDown: "下移", "Move down";
    Remove: "移除", "Remove";
    PlayTimes: "播出时间", "Play times";
    Time: "时间", "Time";
    AddSlot: "添加播出时间", "Add a play time";
    Days: "哪几天", "Days";
    EveryDay: "每天", "every day";
    WeekdaysOnly: "工作日", "weekdays";
    WeekendsOnly: "周末", "weekends";
    CustomCron: "自定义（cron）", "custom (cron)";
    InQuietHours: "遇到静音时段", "In quiet hours";
    QuietSkip: "不播", "skip";
    QuietDefer: "静音结束后再播", "play when they end";
    ChimeFirst: "先播提示音", "Chime first";
    Save: "保存", "Save";
    ReadOnly: "你的角色不能修改播放列表。", "Your role may not edit playlists.";
    EmptyList: "列表是空的。", "The list is empty.";
    ChooseItem: "选择消息或录音", "Choose a message or clip";
    NoSlots: "没有播出时段。", "No slots.";
    NoCues: "这一天没有安排。", "Nothing planned for this day.";
    OutPlay: "播放", "plays";
    OutDeferred: "推迟", "deferred";
    DeferredFrom: "原定 {time}", "was due {time}";

    BroadcastTitle: "立即广播", "Broadcast now";
    Targets: "播给谁", "Who hears it";
    AllVillages: "全部村", "Every village";
    WhatToPlay: "播什么", "What to play";
    BroadcastButton: "播放", "Broadcast";
    EmergencyButton: "紧急广播", "Emergency broadcast";
    EmergencyConfirmTitle: "确定要紧急广播吗？", "Start an emergency broadcast?";
    EmergencyConfirmText: "紧急广播会打断所有正在播放的内容，不管静音时段，以最大音量播放。", "An emergency broadcast interrupts everything playing, ignores quiet hours and plays at full level.";
    EmergencyConfirm: "确定，紧急播放", "Yes, broadcast it";
    Playing: "已开始在 {n} 个村播放。", "Playing in {n} villages.";
    EmergencyPlaying: "紧急广播已发出：{n} 个村正在播放（不受休息时段限制）。", "Emergency sent: playing in {n} villages (quiet hours do not apply).";
    BroadcastUnheard: "这些村的喇叭现在收不到（播出记录会写明）：", "These villages' loudspeakers do not get it now (the log says so):";
    SkippedVillages: "这些村听不到：", "These villages hear nothing:";
    Stop: "停止", "Stop";
    Stopped: "已停止。", "Stopped.";
    ChooseTarget: "请至少选一个村。", "Choose at least one village.";
    ChooseWhat: "请选择要播放的消息或录音。", "Choose a message or clip to play.";
    Sending: "正在发送…", "Sending…";

    LogTitle: "播出记录", "As-run log";
    Village: "村", "Village";
    Since: "从哪天起", "Since";
    Show: "查看", "Show";
    DownloadCsv: "下载 CSV", "Download CSV";
    Scheduled: "计划时间", "Scheduled";
    Started: "开始", "Started";
    Ended: "结束", "Ended";
    Clip: "录音", "Clip";
    Priority: "优先级", "Priority";
    Slot: "时段", "Slot";
    Outcome: "结果", "Outcome";
    Detail: "说明", "Detail";
    NoRows: "没有记录。", "No entries.";
    RowsShown: "显示 {n} 条（最多 {max} 条）。", "{n} rows shown (at most {max}).";
    PrioEmergency: "紧急", "emergency";
    PrioLive: "直播", "live";
    PrioManual: "手动", "manual";
    PrioScheduled: "定时", "scheduled";
    PrioBackground: "背景", "background";
    OutPlayed: "已播", "played";
    OutPreempted: "被打断", "preempted";
    OutResumed: "已续播", "resumed";
    OutLate: "迟播", "late";
    OutMissed: "错过", "missed";
    OutSkippedQuiet: "静音时段跳过", "skipped: quiet hours";
    OutSkippedExpired: "过期跳过", "skipped: expired";
    OutSkippedHoliday: "节假日跳过", "skipped: holiday";
    OutSkippedMaxPlays: "超过每日次数", "skipped: plays per day";
    OutNoVariant: "无合适语言版本", "no variant";
    OutFailedOutput: "输出故障", "output failed";
    OutStopped: "已停止", "stopped";
    OutPlanned: "待播", "planned";
    OutOnAir: "正在播", "on air";

    UsersTitle: "用户管理", "Users";
    AddUser: "添加用户", "Add a user";
    Role: "角色", "Role";
    Created: "添加时间", "Added";
    State: "状态", "State";
    Active: "正常", "active";
    Disabled: "已停用", "disabled";
    Disable: "停用", "Disable";
    Enable: "启用", "Enable";
    Delete: "删除", "Delete";
    ConfirmDelete: "确定删除用户 {name}？", "Delete user {name}?";
    MakeToken: "生成 API 令牌", "Make an API token";
    TokenLabel: "令牌名称（例如 phone）", "Token label (e.g. phone)";
    TokenShownOnce: "请现在复制，这个令牌只显示这一次：", "Copy it now; this token is shown only once:";
    Tokens: "API 令牌", "API tokens";
    Revoke: "撤销", "Revoke";
    NewPassword: "新密码", "New password";
    SetPassword: "改密码", "Set password";
    You: "（你）", "(you)";
    Actions: "操作", "Actions";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_both_languages_and_a_unique_key() {
        let mut keys = std::collections::BTreeSet::new();
        for m in M::ALL {
            assert!(!m.zh().is_empty() && !m.en().is_empty(), "{m:?}");
            assert!(keys.insert(m.key()), "{m:?} twice");
        }
        assert_eq!(Lang::En.js_table()["UploadDone"], "Imported:");
    }

    #[test]
    fn placeholders_are_filled_and_names_translated() {
        assert_eq!(
            fill(Lang::En.t(M::ForbiddenPage), &[("role", "uploader")]),
            "Your role (uploader) may not use this page."
        );
        assert_eq!(Lang::Zh.name_of("emergency"), "紧急");
        assert_eq!(Lang::Zh.name_of("something-new"), "something-new");
        assert_eq!(
            (Lang::parse("EN"), Lang::parse("zh-CN"), Lang::parse("fr")),
            (Some(Lang::En), Some(Lang::Zh), None)
        );
    }
}
