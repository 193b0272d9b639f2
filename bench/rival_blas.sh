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
