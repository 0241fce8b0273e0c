//! One WAV file being recorded: hound writes the header, samples go in as whole blocks.
//!
//! hound's writer takes one sample per call (and its 16-bit fast path one checked store per
//! sample): a station recording 256 villages spent three quarters of a render there. Here a
//! block is converted in one pass into a byte buffer and written with one call. The header is
//! hound's own (written by `hound::WavWriter` for zero samples), and the two sizes in it are kept
//! up to date exactly as hound does: the RIFF size at byte 4 and the data size in the four bytes
//! just before the samples (the data chunk is the header's last part).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::sample::{to_f32, to_i16, to_i24, to_i32};
use crate::config::SampleFormat;

/// A WAV file open for appending samples.
pub(super) struct WavFile {
    file: File,
    format: SampleFormat,
    /// Where the samples begin (the header's length).
    data_at: u64,
    data_bytes: u64,
    buf: Vec<u8>,
    wide: Vec<i16>,
}

impl WavFile {
    /// Creates `path` with the header for `spec` (sizes zero).
    pub fn create(path: &Path, spec: hound::WavSpec, format: SampleFormat) -> Result<WavFile, hound::Error> {
        // hound writes the header into memory; it is checked, then written to the file.
        let mut header = std::io::Cursor::new(Vec::new());
        hound::WavWriter::new(&mut header, spec)?.finalize()?;
        let header = header.into_inner();
        if header.len() < 12 || header[header.len() - 8..header.len() - 4] != *b"data" {
            return Err(hound::Error::FormatError("the header does not end with the data chunk"));
        }
        let mut file = File::create(path)?;
        file.write_all(&header)?;
        let data_at = header.len() as u64;
        Ok(WavFile { file, format, data_at, data_bytes: 0, buf: Vec::new(), wide: Vec::new() })
    }

    /// Appends interleaved samples (whole frames), converted to the file's format.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), hound::Error> {
        let buf = &mut self.buf;
        match self.format {
            SampleFormat::I16 if cfg!(target_endian = "little") => {
                // The common card format: converted into i16s, written as their bytes.
                self.wide.clear();
                self.wide.extend(samples.iter().map(|s| to_i16(*s)));
            }
            SampleFormat::I16 => encode(buf, samples, |s| to_i16(s).to_le_bytes()),
            SampleFormat::I24 => encode(buf, samples, |s| {
                let b = to_i24(s).to_le_bytes();
                [b[0], b[1], b[2]]
            }),
            SampleFormat::I32 => encode(buf, samples, |s| to_i32(s).to_le_bytes()),
            SampleFormat::F32 => encode(buf, samples, |s| to_f32(s).to_le_bytes()),
        }
        let bytes: &[u8] = match self.format {
            SampleFormat::I16 if cfg!(target_endian = "little") => bytemuck::cast_slice(&self.wide),
            _ => buf,
        };
        if self.data_at + self.data_bytes + bytes.len() as u64 > u64::from(u32::MAX) {
            return Err(hound::Error::TooWide);
        }
        self.file.write_all(bytes)?;
        self.data_bytes += bytes.len() as u64;
        Ok(())
    }

    /// Brings the header's sizes up to date: the file is a valid WAV up to here.
    pub fn flush(&mut self) -> Result<(), hound::Error> {
        let riff = u32::try_from(self.data_at - 8 + self.data_bytes).map_err(|_| hound::Error::TooWide)?;
        let data = u32::try_from(self.data_bytes).map_err(|_| hound::Error::TooWide)?;
        self.file.write_all_at(&riff.to_le_bytes(), 4)?;
        self.file.write_all_at(&data.to_le_bytes(), self.data_at - 4)?;
        self.file.flush()?;
        Ok(())
    }

    /// Updates the header and closes the file.
    pub fn finalize(mut self) -> Result<(), hound::Error> {
        self.flush()
    }
}

/// Fills `buf` with the `N`-byte little-endian form of each sample.
fn encode<const N: usize>(buf: &mut Vec<u8>, samples: &[f32], one: impl Fn(f32) -> [u8; N]) {
    buf.resize(samples.len() * N, 0);
    for (d, s) in buf.chunks_exact_mut(N).zip(samples) {
        d.copy_from_slice(&one(*s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hound_reads_back_every_format_and_channel_count_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let samples: Vec<f32> = (0..4800).map(|i| ((i as f32) * 0.013).sin() * 0.9).collect();
        for (format, bits, kind) in [
            (SampleFormat::I16, 16, hound::SampleFormat::Int),
            (SampleFormat::I24, 24, hound::SampleFormat::Int),
            (SampleFormat::I32, 32, hound::SampleFormat::Int),
            (SampleFormat::F32, 32, hound::SampleFormat::Float),
        ] {
            for channels in [1u16, 2, 8] {
                let path = dir.path().join(format!("{bits}-{channels}.wav"));
                let spec = hound::WavSpec { channels, sample_rate: 44_100, bits_per_sample: bits, sample_format: kind };
                let mut f = WavFile::create(&path, spec, format).unwrap();
                f.write(&samples[..2400]).unwrap();
                f.flush().unwrap();
                f.write(&samples[2400..]).unwrap();
                f.finalize().unwrap();
                let mut r = hound::WavReader::open(&path).unwrap();
                assert_eq!(r.spec(), spec);
                assert_eq!(r.len(), 4800, "{format:?} × {channels}");
                match kind {
                    hound::SampleFormat::Float => {
                        let back: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
                        assert_eq!(back, samples);
                    }
                    hound::SampleFormat::Int => {
                        let back: Vec<i32> = r.samples::<i32>().map(Result::unwrap).collect();
                        let want: Vec<i32> = samples
                            .iter()
                            .map(|s| match format {
                                SampleFormat::I16 => i32::from(to_i16(*s)),
                                SampleFormat::I24 => to_i24(*s),
                                _ => to_i32(*s),
                            })
                            .collect();
                        assert_eq!(back, want, "{format:?} × {channels}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_file_that_is_not_seekable_like_dev_null_takes_the_samples() {
        // The benchmarks render into /dev/null to leave the disk out.
        let spec = hound::WavSpec {
            channels: 8,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut f = WavFile::create(Path::new("/dev/null"), spec, SampleFormat::I16).unwrap();
        f.write(&[0.25; 4800]).unwrap();
        f.finalize().unwrap();
    }
}
