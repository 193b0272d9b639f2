# Sourced by the benchmark scripts that run a PyTorch rival: the one place that decides its BLAS kernel.
# On a CPU with AVX-512 the rival's command alone gets OPENBLAS_CORETYPE=SkylakeX and OPENBLAS_L2_SIZE unset (Debian's
# OpenBLAS falls back to SSE3 kernels on CPUs it does not know, e.g. Xeon family 6 model 207); elsewhere the
# environment is left as it is. Sets: torch_env (a command prefix), kernel_note (what was done), and
# rival_kernel (the kernel OpenBLAS reports it ran, after one product).
#
# The rival also gets OpenBLAS's OpenMP build (Debian's libopenblas0-openmp), loaded for its command alone through
# LD_LIBRARY_PATH. With the default pthread build, PyTorch runs two thread pools: its OpenMP threads (elementwise ops)
# and OpenBLAS's own pthreads (matrix products), which spin with sched_yield for about 2^28 cycles after every product
# and take the 2 cores from the OpenMP threads. Measured 2026-12-08 on an AMD EPYC (Zen 3), FSDNet's PyTorch mirror on
# Frappe, s/epoch over two alternations: pthread build 13.9-16.1, OpenMP build 10.8-13.2. The OpenMP build shares
# PyTorch's one pool, as PyTorch's own MKL/OpenMP builds do, so it is the rival at its best.
openmp_dir="$(ls -d /usr/lib/*-linux-gnu/openblas-openmp 2>/dev/null | head -n 1)"
if [ -z "$openmp_dir" ] || [ ! -e "$openmp_dir/libblas.so.3" ]; then
  echo "The PyTorch rival runs on OpenBLAS's OpenMP build (one thread pool with PyTorch's own; the pthread build's" >&2
  echo "spinning threads slow PyTorch by up to a fifth on 2 cores). Install it first: apt-get install libopenblas0-openmp" >&2
  exit 2
fi
torch_env=(env "LD_LIBRARY_PATH=$openmp_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
kernel_note="OpenBLAS OpenMP build"
if grep -q avx512f /proc/cpuinfo; then
  torch_env=(env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX "${torch_env[@]:1}")
  kernel_note="$kernel_note, OPENBLAS_CORETYPE=SkylakeX, OPENBLAS_L2_SIZE unset"
fi
rival_info="$("${torch_env[@]}" /usr/bin/python3 -c 'import sys; sys.path.insert(0, "tools/zoo_torch"); import torch; torch.ones(64, 64) @ torch.ones(64, 64); from train_zoo import blas_info; i = blas_info(); print(i["openblas_core"] or "", i["blas"])')"
rival_kernel="${rival_info%% *}"
rival_lib="${rival_info#* }"
[ -n "$rival_kernel" ] || rival_kernel="$rival_lib"
case "$rival_lib" in
  ""|*openblas-openmp*|*/libblas.so*) ;;
  *)
    echo "PyTorch loaded $rival_lib, not OpenBLAS's OpenMP build from $openmp_dir: the comparison would not be fair." >&2
    exit 2 ;;
esac
kernel_note="$kernel_note: $rival_lib"
# A rival on the reference BLAS (Debian's libblas3 alternative, chosen when libopenblas0 is not installed) is many
# times slower than it can be: refuse to compare against it.
case "$rival_kernel" in
  "")
    echo "could not ask PyTorch which BLAS it runs (error above); the rival needs python3-torch and python3-sklearn" >&2
    exit 2 ;;
  */libblas.so*)
    echo "PyTorch is on the reference BLAS ($rival_kernel), not OpenBLAS: the comparison would not be fair." >&2
    echo "Install OpenBLAS first: apt-get install libopenblas0-openmp" >&2
    exit 2 ;;
esac
