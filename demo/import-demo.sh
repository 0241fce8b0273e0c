#!/usr/bin/env bash
# Rebuilds the demo clip library (audio-library/) from demo/recordings/ with `xiangyin import`.
# Usage: demo/import-demo.sh [path-to-xiangyin-binary]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/target/release/xiangyin}
rec=$here/demo/recordings
tx() { awk -F'\t' -v f="$1" '$1 == f { print $2 }' "$rec/transcripts.tsv"; }
imp() { # file title language kind message
  "$bin" --root "$here" import "$rec/$1" --title "$2" --language "$3" --kind "$4" --message "$5" \
    --transcript "$(tx "$1")" --approve
}
imp notice-fire-safety.cmn.wav        "冬季防火提醒（普通话）"   cmn        notice       fire-safety
imp notice-fire-safety.yue-qingxi.wav "冬季防火提醒（青溪话）"   yue-qingxi notice       fire-safety
imp notice-vaccine.cmn.wav            "老人免费流感疫苗（普通话）" cmn      notice       flu-vaccine
imp notice-vaccine.yue-qingxi.wav     "老人免费流感疫苗（青溪话）" yue-qingxi notice     flu-vaccine
imp clapper-anti-fraud.yue-qingxi.wav "快板：防电信诈骗"         yue-qingxi clapper-talk anti-fraud-clapper
imp song-harvest.zxx.wav              "丰收小调"                 zxx        song         harvest-song
imp chime-ding-dong.wav               "叮咚提示音"               zxx        chime        chime
