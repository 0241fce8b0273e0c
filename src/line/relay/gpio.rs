//! Linux GPIO lines through the character device (/dev/gpiochipN), with gpio-cdev.
//!
//! All configured lines are requested together as outputs, initially off (0), consumer
//! "xiangyin"; the kernel releases them when the relay is dropped.

use std::path::Path;

use gpio_cdev::{Chip, LineRequestFlags, Lines, MultiLineHandle};

use super::{Relay, RelayError, Who, two};

/// The requested lines: `offsets[i]` is driven to `values[i]`.
pub(super) struct GpioRelay {
    who: Who,
    handle: MultiLineHandle,
    offsets: Vec<u32>,
    values: Vec<u8>,
}

impl GpioRelay {
    /// Opens the chip and requests `offsets` (duplicates ignored) as outputs, all off.
    pub(super) fn open(name: &str, path: &Path, offsets: &[u32]) -> Result<GpioRelay, RelayError> {
        let who = Who::new("GPIO relay", "GPIO 继电器", name, path, None);
        let mut chip = Chip::new(path).map_err(|e| {
            RelayError::Gone(two(
                format!("{} cannot be opened ({e}): does the GPIO chip exist (see `gpiodetect`), is the chip path in the hardware profile right, and may the daemon's user use it (group gpio)?", who.en),
                format!("{}无法打开（{e}）：请检查 GPIO 芯片是否存在（参见 `gpiodetect`）、硬件配置中的芯片路径是否正确，以及守护进程的用户是否有权限（gpio 组）。", who.zh),
            ))
        })?;
        let mut unique: Vec<u32> = Vec::with_capacity(offsets.len());
        for &o in offsets {
            if !unique.contains(&o) {
                unique.push(o);
            }
        }
        if unique.is_empty() {
            return Err(RelayError::Garbage(two(
                format!("{} has no lines configured: list the GPIO line offsets in the hardware profile.", who.en),
                format!("{}没有配置任何 GPIO 线：请在硬件配置中列出线号。", who.zh),
            )));
        }
        let lines = chip.get_lines(&unique).map_err(|e| {
            RelayError::Gone(two(
                format!(
                    "{} cannot use lines {unique:?} of {} ({e}): does the chip have them? (see `gpioinfo`)",
                    who.en,
                    path.display()
                ),
                format!(
                    "{}无法使用 {} 的线 {unique:?}（{e}）：芯片是否有这些线？（参见 `gpioinfo`）",
                    who.zh,
                    path.display()
                ),
            ))
        })?;
        let values = vec![0u8; unique.len()];
        let handle = lines
            .request(LineRequestFlags::OUTPUT, &values, "xiangyin")
            .map_err(|e| request_error(&who, path, &lines, &e))?;
        Ok(GpioRelay { who, handle, offsets: unique, values })
    }
}

/// EBUSY (or a line that the kernel says is taken) → Busy naming the line and its holder;
/// anything else → Gone.
fn request_error(who: &Who, path: &Path, lines: &Lines, e: &gpio_cdev::Error) -> RelayError {
    let held = (0..lines.len()).find_map(|i| {
        let info = lines[i].info().ok()?;
        info.is_kernel().then(|| (lines[i].offset(), info.consumer().unwrap_or("?").to_string()))
    });
    let ebusy = std::error::Error::source(e).is_some_and(|s| s.to_string().starts_with("EBUSY"));
    match held {
        Some((offset, holder)) => RelayError::Busy(two(
            format!(
                "GPIO line {offset} of {} is in use by another program (\"{holder}\"), so {} cannot switch it: stop that program or change the line in the hardware profile.",
                path.display(),
                who.en
            ),
            format!(
                "{} 的 GPIO 线 {offset} 正被其他程序（“{holder}”）占用，{}无法控制它：请停止那个程序，或在硬件配置中换一条线。",
                path.display(),
                who.zh
            ),
        )),
        None if ebusy => RelayError::Busy(two(
            format!(
                "a GPIO line of {} is in use by another program ({e}), so {} cannot switch it: stop that program or change the lines in the hardware profile.",
                path.display(),
                who.en
            ),
            format!(
                "{} 的 GPIO 线正被其他程序占用（{e}），{}无法控制：请停止那个程序，或在硬件配置中换线。",
                path.display(),
                who.zh
            ),
        )),
        None => RelayError::Gone(two(
            format!(
                "{} cannot request its lines as outputs ({e}): check the chip path and line offsets (see `gpioinfo`).",
                who.en
            ),
            format!("{}无法把线申请为输出（{e}）：请检查芯片路径和线号（参见 `gpioinfo`）。", who.zh),
        )),
    }
}

impl Relay for GpioRelay {
    fn set(&mut self, changes: &[(u32, bool)]) -> Result<(), RelayError> {
        let mut values = self.values.clone();
        for &(offset, on) in changes {
            let Some(i) = self.offsets.iter().position(|&o| o == offset) else {
                return Err(RelayError::Garbage(two(
                    format!(
                        "{} was not opened with GPIO line {offset} (it has {:?}): check the hardware profile.",
                        self.who.en, self.offsets
                    ),
                    format!("{}没有申请 GPIO 线 {offset}（已申请 {:?}）：请检查硬件配置。", self.who.zh, self.offsets),
                )));
            };
            values[i] = u8::from(on);
        }
        self.handle.set_values(&values).map_err(|e| {
            RelayError::Gone(two(
                format!("{} cannot set its lines ({e}): was the GPIO chip removed?", self.who.en),
                format!("{}无法设置 GPIO 线（{e}）：GPIO 芯片是否已被移除？", self.who.zh),
            ))
        })?;
        self.values = values;
        Ok(())
    }
}
