# Sourced by the benchmark scripts that run a PyTorch rival: the one place that decides its BLAS kernel.
# On a CPU with AVX-512 the rival's command alone gets OPENBLAS_CORETYPE=SkylakeX and OPENBLAS_L2_SIZE unset (Debian's
# OpenBLAS falls back to SSE3 kernels on CPUs it does not know, e.g. Xeon family 6 model 207); elsewhere the
# environment is left as it is. Sets: torch_env (a command prefix), kernel_note (what was done), and
# rival_kernel (the kernel OpenBLAS reports it ran, after one product).
torch_env=(env)
kernel_note="environment as given"
if grep -q avx512f /proc/cpuinfo; then
  torch_env=(env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX)
  kernel_note="OPENBLAS_CORETYPE=SkylakeX, OPENBLAS_L2_SIZE unset"
fi
rival_kernel="$("${torch_env[@]}" /usr/bin/python3 -c 'import sys; sys.path.insert(0, "tools/zoo_torch"); import torch; torch.ones(64, 64) @ torch.ones(64, 64); from train_zoo import blas_info; i = blas_info(); print(i["openblas_core"] or i["blas"])')"
# A rival on the reference BLAS (Debian's libblas3 alternative, chosen when libopenblas0 is not installed) is many
# times slower than it can be: refuse to compare against it.
case "$rival_kernel" in
  "")
    echo "could not ask PyTorch which BLAS it runs (error above); the rival needs python3-torch and python3-sklearn" >&2
    exit 2 ;;
  */libblas.so*)
    echo "PyTorch is on the reference BLAS ($rival_kernel), not OpenBLAS: the comparison would not be fair." >&2
    echo "Install OpenBLAS first: apt-get install libopenblas0-pthread" >&2
    exit 2 ;;
esac
