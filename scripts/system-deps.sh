#!/usr/bin/env bash
# Installs the Debian packages the test suite drives (speech synthesis, audio tools,
# SIP peers, a browser and a CJK font for its screenshots, npm for the voices of the
# natural test speech, xorriso and isoinfo to read disc archives), only those missing.
# Uses sudo when not root.
set -euo pipefail

packages=(espeak-ng sox libsox-fmt-all sip-tester baresip chromium fonts-wqy-microhei xorriso genisoimage)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done
# npm: any install will do (Debian's, or the one that comes with a Node.js package).
command -v npm >/dev/null || missing+=(npm)
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "system-deps: installing ${missing[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
