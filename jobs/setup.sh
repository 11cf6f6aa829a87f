#!/usr/bin/env bash
# Installs the Debian 12 packages alphanet-mpi needs and builds it (Release) into build/.
#   bash jobs/setup.sh            packages + build
#   SKIP_APT=1 bash jobs/setup.sh build only
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  libopenmpi-dev openmpi-bin          # MPI (Open MPI 4.1)
  libblis-dev                         # BLIS GEMM
  libhdf5-openmpi-dev hdf5-tools      # parallel HDF5, h5dump
  libyaml-dev                         # configs
  zlib1g-dev                          # gzip'ed IDX data
  libjpeg-dev libpng-dev              # image folders (libjpeg-turbo, libpng)
  dataset-fashion-mnist               # the default data set
  gnuplot-nox python3                 # plots (jobs/plot.sh)
)

if [ "${SKIP_APT:-0}" != 1 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(OMP_NUM_THREADS= nproc)"
echo "built: $(build/alphanet --version)"
