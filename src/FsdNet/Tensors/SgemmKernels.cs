// Register-blocked SGEMM micro-kernels for AVX2 and the scalar fallback (one unrolled FMA chain per accumulator); the
// AVX-512 ones are generated into SgemmKernels512.g.cs by tools/codegen/sgemm_kernels512.py. Keep the shapes in sync
// with Sgemm.SelectKernel.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FsdNet.Tensors;

internal static unsafe partial class Sgemm
{
    /// <summary>
    /// The left half of <see cref="Kernel256_6x16"/> for a last column panel with at most 8 valid columns: C[0..6,0..8]
    /// from the same 16-wide packed B (its right half is padding), with the same FMA chain per element, so the values
    /// are bit for bit the full kernel's. Half the multiply-adds on such a panel (n = 100: 6 panels and 4 columns).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256_6x8(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        var c0 = Vector256<float>.Zero;
        var c1 = Vector256<float>.Zero;
        var c2 = Vector256<float>.Zero;
        var c3 = Vector256<float>.Zero;
        var c4 = Vector256<float>.Zero;
        var c5 = Vector256<float>.Zero;
        var end = pb + (nint)kc * 16;
        while (pb < end)
        {
            var b0 = Vector256.Load(pb);
            c0 = Fma.MultiplyAdd(Vector256.Create(pa[0]), b0, c0);
            c1 = Fma.MultiplyAdd(Vector256.Create(pa[1]), b0, c1);
            c2 = Fma.MultiplyAdd(Vector256.Create(pa[2]), b0, c2);
            c3 = Fma.MultiplyAdd(Vector256.Create(pa[3]), b0, c3);
            c4 = Fma.MultiplyAdd(Vector256.Create(pa[4]), b0, c4);
            c5 = Fma.MultiplyAdd(Vector256.Create(pa[5]), b0, c5);
            pa += 6;
            pb += 16;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Vector256.Store(c0 * va, c);
            Vector256.Store(c1 * va, c + 1 * ldc);
            Vector256.Store(c2 * va, c + 2 * ldc);
            Vector256.Store(c3 * va, c + 3 * ldc);
            Vector256.Store(c4 * va, c + 4 * ldc);
            Vector256.Store(c5 * va, c + 5 * ldc);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c), vb, c0 * va), c);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 1 * ldc), vb, c1 * va), c + 1 * ldc);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 2 * ldc), vb, c2 * va), c + 2 * ldc);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 3 * ldc), vb, c3 * va), c + 3 * ldc);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 4 * ldc), vb, c4 * va), c + 4 * ldc);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(c + 5 * ldc), vb, c5 * va), c + 5 * ldc);
        }
    }

    /// <summary>
    /// <see cref="Kernel256_6x16"/> reading 6 full rows of a non-transposed A in place (row i at a + i * lda) instead of
    /// a packed panel: the same broadcasts in the same order, so the same values bit for bit, without the packing pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256_6x16A(int kc, float* a, nint lda, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        var c0_0 = Vector256<float>.Zero; var c0_1 = Vector256<float>.Zero;
        var c1_0 = Vector256<float>.Zero; var c1_1 = Vector256<float>.Zero;
        var c2_0 = Vector256<float>.Zero; var c2_1 = Vector256<float>.Zero;
        var c3_0 = Vector256<float>.Zero; var c3_1 = Vector256<float>.Zero;
        var c4_0 = Vector256<float>.Zero; var c4_1 = Vector256<float>.Zero;
        var c5_0 = Vector256<float>.Zero; var c5_1 = Vector256<float>.Zero;
        var a0 = a;
        var a1 = a + lda;
        var a2 = a + (2 * lda);
        var a3 = a + (3 * lda);
        var a4 = a + (4 * lda);
        var a5 = a + (5 * lda);
        for (nint p = 0; p < kc; p++, pb += 16)
        {
            var b0 = Vector256.Load(pb);
            var b1 = Vector256.Load(pb + 8);
            var x0 = Vector256.Create(a0[p]);
            c0_0 = Fma.MultiplyAdd(x0, b0, c0_0);
            c0_1 = Fma.MultiplyAdd(x0, b1, c0_1);
            var x1 = Vector256.Create(a1[p]);
            c1_0 = Fma.MultiplyAdd(x1, b0, c1_0);
            c1_1 = Fma.MultiplyAdd(x1, b1, c1_1);
            var x2 = Vector256.Create(a2[p]);
            c2_0 = Fma.MultiplyAdd(x2, b0, c2_0);
            c2_1 = Fma.MultiplyAdd(x2, b1, c2_1);
            var x3 = Vector256.Create(a3[p]);
            c3_0 = Fma.MultiplyAdd(x3, b0, c3_0);
            c3_1 = Fma.MultiplyAdd(x3, b1, c3_1);
            var x4 = Vector256.Create(a4[p]);
            c4_0 = Fma.MultiplyAdd(x4, b0, c4_0);
            c4_1 = Fma.MultiplyAdd(x4, b1, c4_1);
            var x5 = Vector256.Create(a5[p]);
            c5_0 = Fma.MultiplyAdd(x5, b0, c5_0);
            c5_1 = Fma.MultiplyAdd(x5, b1, c5_1);
        }
        Store6x16(c, ldc, alpha, beta, c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1, c4_0, c4_1, c5_0, c5_1);
    }

    /// <summary>C[0..6,0..16] = alpha * acc + beta * C (beta == 0 overwrites), for the 6x16 kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store6x16(float* c, nint ldc, float alpha, float beta,
        Vector256<float> c0_0, Vector256<float> c0_1, Vector256<float> c1_0, Vector256<float> c1_1, Vector256<float> c2_0, Vector256<float> c2_1,
        Vector256<float> c3_0, Vector256<float> c3_1, Vector256<float> c4_0, Vector256<float> c4_1, Vector256<float> c5_0, Vector256<float> c5_1)
    {
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
        Store6x16(c, ldc, alpha, beta, c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1, c4_0, c4_1, c5_0, c5_1);
    }
}
