#!/usr/bin/env bash
# Rebuilds the recording-notice prompts with espeak-ng and sox: 8 kHz, mono, 16-bit
# PCM WAV, the format Asterisk's Playback() and hotline's SIP line both read.
# Agencies usually replace them with a recorded human voice of the same wording.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

espeak-ng -v en-us -s 150 -w "$tmp/en.wav" \
  "This call is recorded, to document your report. Please hold for an operator."
# Mandarin, as tone-numbered pinyin (espeak-ng's cmn voice cannot read characters):
# 本次通话将全程录音，用于记录您的举报。请稍候，正在为您转接工作人员。
espeak-ng -v cmn-latn-pinyin -s 150 -w "$tmp/zh.wav" \
  "ben3 ci4 tong1 hua4 jiang1 quan2 cheng2 lu4 yin1, yong4 yu2 ji4 lu4 nin2 de5 ju3 bao4. qing3 shao1 hou4, zheng4 zai4 wei4 nin2 zhuan3 jie1 gong1 zuo4 ren2 yuan2."
for lang in en zh; do
  sox "$tmp/$lang.wav" -r 8000 -c 1 -b 16 -e signed-integer "hotline-recording-notice-$lang.wav" pad 0.2 0.3
done
