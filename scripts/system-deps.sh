#!/usr/bin/env bash
# Installs the Debian packages the test suite drives (speech synthesis, audio tools,
# SIP peers, a browser and a CJK font for its screenshots, npm for the voices of the
# natural test speech; Docker's engine, Debian's docker-compose and debootstrap for the
# image's test; xorriso and isoinfo to read disc archives back), only those missing.
# Uses sudo when not root.
set -euo pipefail

packages=(espeak-ng sox libsox-fmt-all sip-tester baresip chromium fonts-wqy-microhei
  docker.io docker-compose debootstrap xorriso genisoimage)

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

# The tests start the services they need themselves (a Docker engine of their own, with
# no bridge network): installing a package must not start its daemon. Where no policy
# says otherwise, one that refuses every start, for the install only.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 0755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
