#!/usr/bin/env bash
# A synthetic station for the benchmarks: VILLAGES villages on 8-channel 16-bit WAV outputs
# (as many outputs as needed), each village playing its own CLIP_S-second clip, looped, from 07:00
# for MINUTES minutes. The clips are made here with ffmpeg (a tone of its own frequency per village,
# with a slow tremolo and a level of its own, so that no two villages carry the same samples) and
# imported through `xiangyin import`, so they are canonical clips like any upload. Nothing here is
# committed audio.
#
#   benches/synthetic-station.sh DIR VILLAGES CLIP_S MINUTES XIANGYIN_BIN
#
# DIR gets schedules/, hardware-profiles/bench.yaml, audio-library/ and clips.tsv (village, clip
# id, gain dB, canonical file): what the ffmpeg side of the benchmark mixes.
set -euo pipefail
dir=$1 villages=$2 clip_s=$3 minutes=$4 bin=$5
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing (make bench installs it)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"/{schedules,hardware-profiles,audio-library,src}

# The source recordings, 44.1 kHz stereo like a phone upload, imported to 48 kHz mono.
for ((v = 1; v <= villages; v++)); do
  f=$((180 + 7 * v))
  printf -v name 'v%03d' "$v"
  echo "-f lavfi -i sine=frequency=$f:sample_rate=44100:duration=$clip_s -filter:a tremolo=f=$((2 + v % 5)):d=0.6,volume=-$((v % 9))dB -ac 2 -y $dir/src/$name.wav"
done | xargs -P "$(nproc)" -L 1 ffmpeg -hide_banner -loglevel error

cat >"$dir/schedules/station.yaml" <<EOF
name: bench station
timezone: Asia/Shanghai
languages: [cmn]
default_language: cmn
hardware_profile: bench
loudness: {target_lufs: -23, max_true_peak_dbtp: -1}
max_clip_minutes: 30
EOF
{
  echo "villages:"
  for ((v = 1; v <= villages; v++)); do
    printf '  - {id: v%03d, name: 村%03d, township: 镇%02d, zone: z%03d, languages: [cmn]}\n' "$v" "$v" $(((v - 1) / 16)) "$v"
  done
} >"$dir/schedules/villages.yaml"

outputs=$(((villages + 7) / 8))
{
  echo "outputs:"
  for ((o = 1; o <= outputs; o++)); do
    echo "  - {name: out$o, kind: wav, rate: 48000, format: i16, channels: 8}"
  done
  echo "zones:"
  for ((v = 1; v <= villages; v++)); do
    printf '  z%03d: [out%d:%d]\n' "$v" $(((v - 1) / 8 + 1)) $(((v - 1) % 8 + 1))
  done
  echo "max_level_dbfs: -1"
} >"$dir/hardware-profiles/bench.yaml"

"$bin" --root "$dir" import --language cmn --kind notice --approve --json "$dir/src" >"$dir/import.jsonl"

# clips.tsv: village, clip id, gain to target (dB), canonical file — in village order.
python3 - "$dir" "$villages" "$minutes" "$clip_s" <<'PY'
import json, math, sys, pathlib
d, villages, minutes, clip_s = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
by_title = {}
for line in (d / "import.jsonl").read_text().splitlines():
    o = json.loads(line)
    if o.get("id"):
        by_title[o["title"]] = o
repeat = math.ceil(minutes * 60 / clip_s) + 1
rows, playlists, slots = [], [], []
for v in range(1, villages + 1):
    name = f"v{v:03d}"
    o = by_title[name]
    rows.append(f"{name}\t{o['id']}\t{o['loudness']['gain_db']}\t{d / 'audio-library' / o['id'] / 'canonical.wav'}")
    playlists.append(f"  p{name}: {{items: [{o['id']}], repeat: {repeat}}}")
    slots.append(f"  - {{name: s{name}, cron: \"0 7 * * *\", playlist: p{name}, targets: {{villages: [{name}]}}}}")
(d / "clips.tsv").write_text("\n".join(rows) + "\n")
(d / "schedules" / "bench.yaml").write_text("playlists:\n" + "\n".join(playlists) + "\nslots:\n" + "\n".join(slots) + "\n")
PY
rm -rf "$dir/src"
"$bin" --root "$dir" check >/dev/null
