// Register-blocked SGEMM micro-kernels for AVX2 and the scalar fallback (one unrolled FMA chain per accumulator); the
// AVX-512 ones are generated into SgemmKernels512.g.cs by tools/codegen/sgemm_kernels512.py. Keep the shapes in sync
// with Sgemm.SelectKernel.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FsdNet.Tensors;

internal static unsafe partial class Sgemm
{
    /// <summary>6x16 micro-kernel: C[0..6,0..16] = alpha * Apanel * Bpanel + beta * C (beta == 0 overwrites).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256_6x16(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        var c0_0 = Vector256<float>.Zero; var c0_1 = Vector256<float>.Zero;
        var c1_0 = Vector256<float>.Zero; var c1_1 = Vector256<float>.Zero;
        var c2_0 = Vector256<float>.Zero; var c2_1 = Vector256<float>.Zero;
        var c3_0 = Vector256<float>.Zero; var c3_1 = Vector256<float>.Zero;
        var c4_0 = Vector256<float>.Zero; var c4_1 = Vector256<float>.Zero;
        var c5_0 = Vector256<float>.Zero; var c5_1 = Vector256<float>.Zero;
        var end = pb + (nint)kc * 16;
        while (pb < end)
        {
            var b0u0 = Vector256.Load(pb);
            var b1u0 = Vector256.Load(pb + 8);
            var a0u0 = Vector256.Create(pa[0]);
            c0_0 = Fma.MultiplyAdd(a0u0, b0u0, c0_0);
            c0_1 = Fma.MultiplyAdd(a0u0, b1u0, c0_1);
            var a1u0 = Vector256.Create(pa[1]);
            c1_0 = Fma.MultiplyAdd(a1u0, b0u0, c1_0);
            c1_1 = Fma.MultiplyAdd(a1u0, b1u0, c1_1);
            var a2u0 = Vector256.Create(pa[2]);
            c2_0 = Fma.MultiplyAdd(a2u0, b0u0, c2_0);
            c2_1 = Fma.MultiplyAdd(a2u0, b1u0, c2_1);
            var a3u0 = Vector256.Create(pa[3]);
            c3_0 = Fma.MultiplyAdd(a3u0, b0u0, c3_0);
            c3_1 = Fma.MultiplyAdd(a3u0, b1u0, c3_1);
            var a4u0 = Vector256.Create(pa[4]);
            c4_0 = Fma.MultiplyAdd(a4u0, b0u0, c4_0);
            c4_1 = Fma.MultiplyAdd(a4u0, b1u0, c4_1);
            var a5u0 = Vector256.Create(pa[5]);
            c5_0 = Fma.MultiplyAdd(a5u0, b0u0, c5_0);
            c5_1 = Fma.MultiplyAdd(a5u0, b1u0, c5_1);
            pa += 6;
            pb += 16;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Vector256.Store(c0_0 * va, c);
            Vector256.Store(c0_1 * va, c + 8);
            Vector256.Store(c1_0 * va, c + 1 * ldc);
            Vector256.Store(c1_1 * va, c + 1 * ldc + 8);
            Vector256.Store(c2_0 * va, c + 2 * ldc);
            Vector256.Store(c2_1 * va, c + 2 * ldc + 8);
            Vector256.Store(c3_0 * va, c + 3 * ldc);
            Vector256.Store(c3_1 * va, c + 3 * ldc + 8);
            Vector256.Store(c4_0 * va, c + 4 * ldc);
            Vector256.Store(c4_1 * va, c + 4 * ldc + 8);
            Vector256.Store(c5_0 * va, c + 5 * ldc);
            Vector256.Store(c5_1 * va, c + 5 * ldc + 8);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c), vb, c0_0 * va), c);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 8), vb, c0_1 * va), c + 8);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 1 * ldc), vb, c1_0 * va), c + 1 * ldc);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 1 * ldc + 8), vb, c1_1 * va), c + 1 * ldc + 8);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 2 * ldc), vb, c2_0 * va), c + 2 * ldc);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 2 * ldc + 8), vb, c2_1 * va), c + 2 * ldc + 8);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 3 * ldc), vb, c3_0 * va), c + 3 * ldc);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 3 * ldc + 8), vb, c3_1 * va), c + 3 * ldc + 8);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 4 * ldc), vb, c4_0 * va), c + 4 * ldc);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 4 * ldc + 8), vb, c4_1 * va), c + 4 * ldc + 8);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 5 * ldc), vb, c5_0 * va), c + 5 * ldc);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 5 * ldc + 8), vb, c5_1 * va), c + 5 * ldc + 8);
        }
    }
}
