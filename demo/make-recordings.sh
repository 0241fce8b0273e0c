#!/usr/bin/env bash
# Regenerates every file in demo/recordings/ from scratch.
#
# Everything here is synthetic: speech comes from espeak-ng (voices `yue` and
# Mandarin), music/chime/clapper sounds from sox's `synth`. No third-party
# recordings are used. Requires: espeak-ng, sox (Debian: apt-get install
# espeak-ng sox).
#
# Output: mono, 16-bit PCM WAV, 22050 Hz, ~0.3 s of silence at each end,
# speech peak-normalised to -2 dBFS. sox runs with -R (repeatable mode), so
# dither and noise are seeded and a re-run gives the same bytes on the same
# versions of espeak-ng and sox.
#
# The demo station is the fictional 青溪县 (Qingxi county); its local
# Cantonese variety is tagged `yue-qingxi` and voiced with espeak-ng `yue`.
set -euo pipefail

cd "$(dirname "$0")"
OUT=recordings
RATE=22050
PAD=0.3          # seconds of silence at start and end
PEAK_DB=-2       # peak level after normalisation, dBFS

mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

SOX=(sox -R)

# ---------------------------------------------------------------- voices ---
YUE_VOICE=yue
CMN_VOICE=cmn
# espeak-ng 1.51 (Debian 12) has a bug in the `cmn` voice: Chinese characters
# are looked up as pinyin and the pinyin is then read with *English* rules
# (`espeak-ng -v cmn -x 好` prints "(en)..."; espeak-ng issues #1236, #1370).
# The `cmn-latn-pinyin` voice uses the same Mandarin dictionary and speaks
# the characters correctly, so fall back to it when the bug is present.
if espeak-ng -v cmn -q -x '好' | grep -q '(en)'; then
  CMN_VOICE=cmn-latn-pinyin
fi

# ----------------------------------------------------------------- texts ---
# Every spoken line lives here; transcripts.tsv is written from these.
FIRE_TEXT='冬季天气干燥，请各位村民注意防火，不要在山上烧纸烧垃圾。'
# "打流感疫苗" rather than "接种流感疫苗": espeak-ng reads 种 in 接种 as
# zhǒng / zung2 (the noun reading) in both voices.
VACCINE_TEXT='六十五岁以上的老人，可以到镇卫生院免费打流感疫苗。'
# 快板 (clapper talk) about phone fraud. Rhymes in Cantonese on -in:
# 天 tin1 / 边 bin1 / 钱 cin2 / 先 sin1. "问过家人先" (ask your family
# first) is Cantonese word order. "竹板打起" rather than "竹板一打":
# espeak-ng reads 一打 as the noun "a dozen" (jat1 daa1).
CLAPPER_LINES=(
  '竹板打起响连天'
  '骗子电话在身边'
  '冒充公安要转钱'
  '挂线问过家人先'
)

# --------------------------------------------------------------- helpers ---
# speak VOICE TEXT OUT [WPM]: raw espeak-ng speech (default 175 words per
# minute), leading/trailing silence removed, converted to RATE / mono /
# 16-bit, not yet normalised or padded.
speak() {
  local voice=$1 text=$2 out=$3 wpm=${4:-175}
  espeak-ng -v "$voice" -s "$wpm" -w "$TMP/espeak.wav" "$text"
  "${SOX[@]}" "$TMP/espeak.wav" -r "$RATE" -c 1 -b 16 "$out" \
    silence 1 0.02 -50d reverse silence 1 0.02 -50d reverse
}

# finish IN OUT: peak-normalise, add PAD seconds of silence at both ends.
finish() {
  "${SOX[@]}" "$1" -r "$RATE" -c 1 -b 16 -e signed-integer "$2" \
    gain -n "$PEAK_DB" pad "$PAD" "$PAD"
}

# notice NAME VOICE TEXT
notice() {
  speak "$2" "$3" "$TMP/speech.wav"
  finish "$TMP/speech.wav" "$OUT/$1"
}

# ------------------------------------------------------------- notices ---
notice notice-fire-safety.cmn.wav        "$CMN_VOICE" "$FIRE_TEXT"
notice notice-fire-safety.yue-qingxi.wav "$YUE_VOICE" "$FIRE_TEXT"
notice notice-vaccine.cmn.wav            "$CMN_VOICE" "$VACCINE_TEXT"
notice notice-vaccine.yue-qingxi.wav     "$YUE_VOICE" "$VACCINE_TEXT"

# ------------------------------------------------- clapper (快板) talk ---
# Tempo: one beat = 0.45 s (~133 BPM); each spoken line gets one 4-beat bar
# (1.8 s). Clapper pattern per bar: ACCENT . click . click-click . click
# (hits at 0, 0.45, 0.9, 1.125, 1.35 s). A half-bar count-in comes first.
BEAT=0.45
HALF=0.225
BAR=1.8

# One clapper hit: a 25 ms high-passed noise burst (the "crack") plus a
# 50 ms decaying 1.8 kHz tone (the wooden "tock").
"${SOX[@]}" -n -r "$RATE" -c 1 -b 16 "$TMP/crack.wav" \
  synth 0.025 whitenoise vol 0.5 highpass 1500 fade q 0.001 0.025 0.024
"${SOX[@]}" -n -r "$RATE" -c 1 -b 16 "$TMP/tock.wav" \
  synth 0.05 sine 1800 fade l 0.001 0.05 0.049
"${SOX[@]}" -m -v 0.7 "$TMP/crack.wav" -v 0.5 "$TMP/tock.wav" "$TMP/hit.wav"
"${SOX[@]}" "$TMP/hit.wav" "$TMP/hit-soft.wav" vol 0.55

# hit_slot HIT LEN OUT: one hit followed by silence, LEN seconds in total.
hit_slot() {
  "${SOX[@]}" "$1" "$3" pad 0 "$2" trim 0 "$2"
}
hit_slot "$TMP/hit.wav"      "$BEAT" "$TMP/A.wav"   # accented beat
hit_slot "$TMP/hit-soft.wav" "$BEAT" "$TMP/B.wav"   # plain beat
hit_slot "$TMP/hit-soft.wav" "$HALF" "$TMP/C.wav"   # half beat
hit_slot "$TMP/hit.wav"      "$HALF" "$TMP/D.wav"   # accented half beat

"${SOX[@]}" "$TMP/D.wav" "$TMP/D.wav" "$TMP/B.wav" "$TMP/countin.wav"            # 0.9 s
"${SOX[@]}" "$TMP/A.wav" "$TMP/B.wav" "$TMP/C.wav" "$TMP/C.wav" "$TMP/B.wav" \
  "$TMP/bar.wav"                                                                  # 1.8 s
"${SOX[@]}" "$TMP/countin.wav" "$TMP/bar.wav" "$TMP/bar.wav" "$TMP/bar.wav" \
  "$TMP/bar.wav" "$TMP/clapper.wav"

# Speech track: silence under the count-in, then each line starting 50 ms
# after its bar's downbeat, cut/padded to exactly one bar. Spoken a little
# faster (190 wpm) so each ~1.5 s line leaves a breath before the next bar.
"${SOX[@]}" -n -r "$RATE" -c 1 -b 16 "$TMP/countin-silence.wav" trim 0 0.9
slots=("$TMP/countin-silence.wav")
i=0
for line in "${CLAPPER_LINES[@]}"; do
  speak "$YUE_VOICE" "$line" "$TMP/line$i.wav" 190
  "${SOX[@]}" "$TMP/line$i.wav" "$TMP/line$i-padded.wav" pad 0.05 "$BAR"
  "${SOX[@]}" "$TMP/line$i-padded.wav" "$TMP/slot$i.wav" trim 0 "$BAR"
  slots+=("$TMP/slot$i.wav")
  i=$((i + 1))
done
"${SOX[@]}" "${slots[@]}" "$TMP/clapper-speech.wav"

# Speech at full level, clapper well underneath it.
"${SOX[@]}" -m -v 1.0 "$TMP/clapper-speech.wav" -v 0.3 "$TMP/clapper.wav" \
  "$TMP/clapper-mix.wav"
finish "$TMP/clapper-mix.wav" "$OUT/clapper-anti-fraud.yue-qingxi.wav"

# ------------------------------------------------------- harvest song ---
# Pentatonic (C major pentatonic: C D E G A) folk-style tune, plucked,
# 12 notes of 0.4 s and a final 1.2 s C: 6.0 s before padding.
declare -A HZ=([C5]=523.25 [D5]=587.33 [E5]=659.26 [G5]=783.99 [A5]=880.00
               [G4]=392.00 [A4]=440.00)
MELODY=(E5 G5 A5 G5  E5 D5 C5 D5  E5 G5 E5 D5)
notes=()
i=0
for n in "${MELODY[@]}"; do
  "${SOX[@]}" -n -r "$RATE" -c 1 -b 16 "$TMP/note$i.wav" \
    synth 0.4 pluck "${HZ[$n]}" fade q 0.005 0.4 0.08
  notes+=("$TMP/note$i.wav")
  i=$((i + 1))
done
"${SOX[@]}" -n -r "$RATE" -c 1 -b 16 "$TMP/note-last.wav" \
  synth 1.2 pluck "${HZ[C5]}" fade q 0.005 1.2 0.6
notes+=("$TMP/note-last.wav")
"${SOX[@]}" "${notes[@]}" "$TMP/melody.wav"
# Soft sine drone on C4+G4 underneath, faded in and out.
"${SOX[@]}" -n -r "$RATE" -c 2 -b 16 "$TMP/drone2.wav" \
  synth 6.0 sine 261.63 sine 392.00 fade h 0.8 6.0 1.5
"${SOX[@]}" "$TMP/drone2.wav" -c 1 "$TMP/drone.wav" remix 1v0.5,2v0.5
"${SOX[@]}" -m -v 1.0 "$TMP/melody.wav" -v 0.12 "$TMP/drone.wav" "$TMP/song.wav"
finish "$TMP/song.wav" "$OUT/song-harvest.zxx.wav"

# ------------------------------------------------------------- chime ---
# Two-tone "ding-dong": 660 Hz, then 523 Hz 0.5 s later, each a sine with a
# quieter, faster-decaying octave partial and a logarithmic decay.
"${SOX[@]}" -n -r "$RATE" -c 2 -b 16 "$TMP/ding2.wav" \
  synth 0.9 sine 660 sine 1320 fade l 0.005 0.9 0.85
"${SOX[@]}" "$TMP/ding2.wav" -c 1 "$TMP/ding.wav" remix 1v0.8,2v0.2
"${SOX[@]}" -n -r "$RATE" -c 2 -b 16 "$TMP/dong2.wav" \
  synth 1.1 sine 523.25 sine 1046.5 fade l 0.005 1.1 1.05
"${SOX[@]}" "$TMP/dong2.wav" -c 1 "$TMP/dong.wav" remix 1v0.8,2v0.2 pad 0.5
"${SOX[@]}" -m -v 1.0 "$TMP/ding.wav" -v 1.0 "$TMP/dong.wav" "$TMP/chime.wav"
finish "$TMP/chime.wav" "$OUT/chime-ding-dong.wav"

# -------------------------------------------------------- transcripts ---
clapper_text=$(IFS='，'; echo "${CLAPPER_LINES[*]}")
{
  printf 'file\ttranscript\n'
  printf '%s\t%s\n' \
    notice-fire-safety.cmn.wav          "$FIRE_TEXT" \
    notice-fire-safety.yue-qingxi.wav   "$FIRE_TEXT" \
    notice-vaccine.cmn.wav              "$VACCINE_TEXT" \
    notice-vaccine.yue-qingxi.wav       "$VACCINE_TEXT" \
    clapper-anti-fraud.yue-qingxi.wav   "${clapper_text}。" \
    song-harvest.zxx.wav                "" \
    chime-ding-dong.wav                 ""
} > "$OUT/transcripts.tsv"

# ------------------------------------------------------------ summary ---
echo "Mandarin voice: $CMN_VOICE; Cantonese voice: $YUE_VOICE"
for f in "$OUT"/*.wav; do
  printf '%-40s %6.2f s\n' "$(basename "$f")" "$(soxi -D "$f")"
done
