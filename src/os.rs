//! The few things xiangyin asks of the operating system directly (Linux): free disk space, the
//! open-file limit, and how urgently a thread runs. Each call is a thin, checked wrapper over
//! `libc`; nothing here decides anything.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Free space (for an unprivileged writer) and total size, in bytes, of the file system holding
/// `path`.
pub fn disk_space(path: &Path) -> io::Result<(u64, u64)> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter that
    // statvfs fills in completely on success.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let frag = st.f_frsize as u64;
    Ok((st.f_bavail as u64 * frag, st.f_blocks as u64 * frag))
}

/// Raises the soft limit on open files to the hard limit (a unit's `LimitNOFILE` sets both);
/// returns the limit now in force.
pub fn raise_open_files_limit() -> io::Result<u64> {
    // SAFETY: getrlimit/setrlimit with a valid resource and a properly sized struct.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let want = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } != 0 {
            return Err(io::Error::last_os_error());
        }
        lim = want;
    }
    Ok(lim.rlim_cur as u64)
}

/// Makes the calling thread run only when the machine has nothing more urgent to do
/// (`SCHED_IDLE`): for imports, which must never take the CPU from playout or the web pages.
/// Falls back to the lowest `nice` when the scheduler class cannot be changed.
pub fn make_current_thread_background() {
    // SAFETY: sched_setscheduler on the calling thread (pid 0) with a zeroed sched_param, which
    // SCHED_IDLE requires; setpriority on the calling thread's id.
    let param: libc::sched_param = unsafe { std::mem::zeroed() };
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, 19) };
    }
}

/// Asks for the calling thread to run ahead of ordinary work (playout): a real-time round-robin
/// priority when the station may use one (root, or `LimitRTPRIO`), else a raised `nice`.
/// Returns what it got, for the log.
pub fn make_current_thread_urgent() -> &'static str {
    // SAFETY: as above; the priority is within SCHED_RR's range on Linux (1..=99).
    let param = libc::sched_param { sched_priority: 20 };
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &param) } == 0 {
        return "real-time (SCHED_RR 20)";
    }
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, -10) } == 0 { "nice -10" } else { "normal" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_of_a_folder_has_a_size_and_no_more_free_space_than_that() {
        let dir = tempfile::tempdir().unwrap();
        let (free, total) = disk_space(dir.path()).unwrap();
        assert!(total > 0 && free <= total, "{free} of {total}");
        assert!(disk_space(Path::new("/no/such/folder")).is_err());
    }

    #[test]
    fn the_open_files_limit_is_at_least_what_it_was() {
        let before = raise_open_files_limit().unwrap();
        assert!(raise_open_files_limit().unwrap() >= before);
    }
}
