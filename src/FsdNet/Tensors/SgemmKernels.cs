// Register-blocked SGEMM micro-kernels. Generated (one unrolled FMA chain per accumulator; the in-place-A form is the
// 14x32 kernel with pa[i] read as row i of A); keep the shapes in sync
// with Sgemm.SelectKernel.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FsdNet.Tensors;

public static unsafe partial class Sgemm
{
    /// <summary>14x32 micro-kernel: C[0..14,0..32] = alpha * Apanel * Bpanel + beta * C (beta == 0 overwrites).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512_14x32(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        var c0_0 = Vector512<float>.Zero; var c0_1 = Vector512<float>.Zero;
        var c1_0 = Vector512<float>.Zero; var c1_1 = Vector512<float>.Zero;
        var c2_0 = Vector512<float>.Zero; var c2_1 = Vector512<float>.Zero;
        var c3_0 = Vector512<float>.Zero; var c3_1 = Vector512<float>.Zero;
        var c4_0 = Vector512<float>.Zero; var c4_1 = Vector512<float>.Zero;
        var c5_0 = Vector512<float>.Zero; var c5_1 = Vector512<float>.Zero;
        var c6_0 = Vector512<float>.Zero; var c6_1 = Vector512<float>.Zero;
        var c7_0 = Vector512<float>.Zero; var c7_1 = Vector512<float>.Zero;
        var c8_0 = Vector512<float>.Zero; var c8_1 = Vector512<float>.Zero;
        var c9_0 = Vector512<float>.Zero; var c9_1 = Vector512<float>.Zero;
        var c10_0 = Vector512<float>.Zero; var c10_1 = Vector512<float>.Zero;
        var c11_0 = Vector512<float>.Zero; var c11_1 = Vector512<float>.Zero;
        var c12_0 = Vector512<float>.Zero; var c12_1 = Vector512<float>.Zero;
        var c13_0 = Vector512<float>.Zero; var c13_1 = Vector512<float>.Zero;
        Sse.Prefetch0(c);
        Sse.Prefetch0(c + 16);
        Sse.Prefetch0(c + 1 * ldc);
        Sse.Prefetch0(c + 1 * ldc + 16);
        Sse.Prefetch0(c + 2 * ldc);
        Sse.Prefetch0(c + 2 * ldc + 16);
        Sse.Prefetch0(c + 3 * ldc);
        Sse.Prefetch0(c + 3 * ldc + 16);
        Sse.Prefetch0(c + 4 * ldc);
        Sse.Prefetch0(c + 4 * ldc + 16);
        Sse.Prefetch0(c + 5 * ldc);
        Sse.Prefetch0(c + 5 * ldc + 16);
        Sse.Prefetch0(c + 6 * ldc);
        Sse.Prefetch0(c + 6 * ldc + 16);
        Sse.Prefetch0(c + 7 * ldc);
        Sse.Prefetch0(c + 7 * ldc + 16);
        Sse.Prefetch0(c + 8 * ldc);
        Sse.Prefetch0(c + 8 * ldc + 16);
        Sse.Prefetch0(c + 9 * ldc);
        Sse.Prefetch0(c + 9 * ldc + 16);
        Sse.Prefetch0(c + 10 * ldc);
        Sse.Prefetch0(c + 10 * ldc + 16);
        Sse.Prefetch0(c + 11 * ldc);
        Sse.Prefetch0(c + 11 * ldc + 16);
        Sse.Prefetch0(c + 12 * ldc);
        Sse.Prefetch0(c + 12 * ldc + 16);
        Sse.Prefetch0(c + 13 * ldc);
        Sse.Prefetch0(c + 13 * ldc + 16);
        var end = pb + (nint)kc * 32;
        while (pb < end)
        {
            Sse.Prefetch0(pb + 256);
            var b0u0 = Vector512.Load(pb);
            var b1u0 = Vector512.Load(pb + 16);
            var a0u0 = Vector512.Create(pa[0]);
            c0_0 = Avx512F.FusedMultiplyAdd(a0u0, b0u0, c0_0);
            c0_1 = Avx512F.FusedMultiplyAdd(a0u0, b1u0, c0_1);
            var a1u0 = Vector512.Create(pa[1]);
            c1_0 = Avx512F.FusedMultiplyAdd(a1u0, b0u0, c1_0);
            c1_1 = Avx512F.FusedMultiplyAdd(a1u0, b1u0, c1_1);
            var a2u0 = Vector512.Create(pa[2]);
            c2_0 = Avx512F.FusedMultiplyAdd(a2u0, b0u0, c2_0);
            c2_1 = Avx512F.FusedMultiplyAdd(a2u0, b1u0, c2_1);
            var a3u0 = Vector512.Create(pa[3]);
            c3_0 = Avx512F.FusedMultiplyAdd(a3u0, b0u0, c3_0);
            c3_1 = Avx512F.FusedMultiplyAdd(a3u0, b1u0, c3_1);
            var a4u0 = Vector512.Create(pa[4]);
            c4_0 = Avx512F.FusedMultiplyAdd(a4u0, b0u0, c4_0);
            c4_1 = Avx512F.FusedMultiplyAdd(a4u0, b1u0, c4_1);
            var a5u0 = Vector512.Create(pa[5]);
            c5_0 = Avx512F.FusedMultiplyAdd(a5u0, b0u0, c5_0);
            c5_1 = Avx512F.FusedMultiplyAdd(a5u0, b1u0, c5_1);
            var a6u0 = Vector512.Create(pa[6]);
            c6_0 = Avx512F.FusedMultiplyAdd(a6u0, b0u0, c6_0);
            c6_1 = Avx512F.FusedMultiplyAdd(a6u0, b1u0, c6_1);
            var a7u0 = Vector512.Create(pa[7]);
            c7_0 = Avx512F.FusedMultiplyAdd(a7u0, b0u0, c7_0);
            c7_1 = Avx512F.FusedMultiplyAdd(a7u0, b1u0, c7_1);
            var a8u0 = Vector512.Create(pa[8]);
            c8_0 = Avx512F.FusedMultiplyAdd(a8u0, b0u0, c8_0);
            c8_1 = Avx512F.FusedMultiplyAdd(a8u0, b1u0, c8_1);
            var a9u0 = Vector512.Create(pa[9]);
            c9_0 = Avx512F.FusedMultiplyAdd(a9u0, b0u0, c9_0);
            c9_1 = Avx512F.FusedMultiplyAdd(a9u0, b1u0, c9_1);
            var a10u0 = Vector512.Create(pa[10]);
            c10_0 = Avx512F.FusedMultiplyAdd(a10u0, b0u0, c10_0);
            c10_1 = Avx512F.FusedMultiplyAdd(a10u0, b1u0, c10_1);
            var a11u0 = Vector512.Create(pa[11]);
            c11_0 = Avx512F.FusedMultiplyAdd(a11u0, b0u0, c11_0);
            c11_1 = Avx512F.FusedMultiplyAdd(a11u0, b1u0, c11_1);
            var a12u0 = Vector512.Create(pa[12]);
            c12_0 = Avx512F.FusedMultiplyAdd(a12u0, b0u0, c12_0);
            c12_1 = Avx512F.FusedMultiplyAdd(a12u0, b1u0, c12_1);
            var a13u0 = Vector512.Create(pa[13]);
            c13_0 = Avx512F.FusedMultiplyAdd(a13u0, b0u0, c13_0);
            c13_1 = Avx512F.FusedMultiplyAdd(a13u0, b1u0, c13_1);
            pa += 14;
            pb += 32;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Vector512.Store(c0_0 * va, c);
            Vector512.Store(c0_1 * va, c + 16);
            Vector512.Store(c1_0 * va, c + 1 * ldc);
            Vector512.Store(c1_1 * va, c + 1 * ldc + 16);
            Vector512.Store(c2_0 * va, c + 2 * ldc);
            Vector512.Store(c2_1 * va, c + 2 * ldc + 16);
            Vector512.Store(c3_0 * va, c + 3 * ldc);
            Vector512.Store(c3_1 * va, c + 3 * ldc + 16);
            Vector512.Store(c4_0 * va, c + 4 * ldc);
            Vector512.Store(c4_1 * va, c + 4 * ldc + 16);
            Vector512.Store(c5_0 * va, c + 5 * ldc);
            Vector512.Store(c5_1 * va, c + 5 * ldc + 16);
            Vector512.Store(c6_0 * va, c + 6 * ldc);
            Vector512.Store(c6_1 * va, c + 6 * ldc + 16);
            Vector512.Store(c7_0 * va, c + 7 * ldc);
            Vector512.Store(c7_1 * va, c + 7 * ldc + 16);
            Vector512.Store(c8_0 * va, c + 8 * ldc);
            Vector512.Store(c8_1 * va, c + 8 * ldc + 16);
            Vector512.Store(c9_0 * va, c + 9 * ldc);
            Vector512.Store(c9_1 * va, c + 9 * ldc + 16);
            Vector512.Store(c10_0 * va, c + 10 * ldc);
            Vector512.Store(c10_1 * va, c + 10 * ldc + 16);
            Vector512.Store(c11_0 * va, c + 11 * ldc);
            Vector512.Store(c11_1 * va, c + 11 * ldc + 16);
            Vector512.Store(c12_0 * va, c + 12 * ldc);
            Vector512.Store(c12_1 * va, c + 12 * ldc + 16);
            Vector512.Store(c13_0 * va, c + 13 * ldc);
            Vector512.Store(c13_1 * va, c + 13 * ldc + 16);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c), vb, c0_0 * va), c);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c0_1 * va), c + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 1 * ldc), vb, c1_0 * va), c + 1 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 1 * ldc + 16), vb, c1_1 * va), c + 1 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 2 * ldc), vb, c2_0 * va), c + 2 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 2 * ldc + 16), vb, c2_1 * va), c + 2 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 3 * ldc), vb, c3_0 * va), c + 3 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 3 * ldc + 16), vb, c3_1 * va), c + 3 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 4 * ldc), vb, c4_0 * va), c + 4 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 4 * ldc + 16), vb, c4_1 * va), c + 4 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 5 * ldc), vb, c5_0 * va), c + 5 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 5 * ldc + 16), vb, c5_1 * va), c + 5 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 6 * ldc), vb, c6_0 * va), c + 6 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 6 * ldc + 16), vb, c6_1 * va), c + 6 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 7 * ldc), vb, c7_0 * va), c + 7 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 7 * ldc + 16), vb, c7_1 * va), c + 7 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 8 * ldc), vb, c8_0 * va), c + 8 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 8 * ldc + 16), vb, c8_1 * va), c + 8 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 9 * ldc), vb, c9_0 * va), c + 9 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 9 * ldc + 16), vb, c9_1 * va), c + 9 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 10 * ldc), vb, c10_0 * va), c + 10 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 10 * ldc + 16), vb, c10_1 * va), c + 10 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 11 * ldc), vb, c11_0 * va), c + 11 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 11 * ldc + 16), vb, c11_1 * va), c + 11 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 12 * ldc), vb, c12_0 * va), c + 12 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 12 * ldc + 16), vb, c12_1 * va), c + 12 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 13 * ldc), vb, c13_0 * va), c + 13 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 13 * ldc + 16), vb, c13_1 * va), c + 13 * ldc + 16);
        }
    }

    /// <summary>
    /// The 14x32 micro-kernel reading A in place (op(A) not transposed): row i of the panel is <paramref name="a"/> + i *
    /// <paramref name="lda"/>, so the panel needs no packing. The same FMAs in the same order as
    /// <see cref="Kernel512_14x32"/> on the packed panel, so the same values bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512_14x32A(int kc, float* a, nint lda, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        var c0_0 = Vector512<float>.Zero; var c0_1 = Vector512<float>.Zero;
        var c1_0 = Vector512<float>.Zero; var c1_1 = Vector512<float>.Zero;
        var c2_0 = Vector512<float>.Zero; var c2_1 = Vector512<float>.Zero;
        var c3_0 = Vector512<float>.Zero; var c3_1 = Vector512<float>.Zero;
        var c4_0 = Vector512<float>.Zero; var c4_1 = Vector512<float>.Zero;
        var c5_0 = Vector512<float>.Zero; var c5_1 = Vector512<float>.Zero;
        var c6_0 = Vector512<float>.Zero; var c6_1 = Vector512<float>.Zero;
        var c7_0 = Vector512<float>.Zero; var c7_1 = Vector512<float>.Zero;
        var c8_0 = Vector512<float>.Zero; var c8_1 = Vector512<float>.Zero;
        var c9_0 = Vector512<float>.Zero; var c9_1 = Vector512<float>.Zero;
        var c10_0 = Vector512<float>.Zero; var c10_1 = Vector512<float>.Zero;
        var c11_0 = Vector512<float>.Zero; var c11_1 = Vector512<float>.Zero;
        var c12_0 = Vector512<float>.Zero; var c12_1 = Vector512<float>.Zero;
        var c13_0 = Vector512<float>.Zero; var c13_1 = Vector512<float>.Zero;
        Sse.Prefetch0(c);
        Sse.Prefetch0(c + 16);
        Sse.Prefetch0(c + 1 * ldc);
        Sse.Prefetch0(c + 1 * ldc + 16);
        Sse.Prefetch0(c + 2 * ldc);
        Sse.Prefetch0(c + 2 * ldc + 16);
        Sse.Prefetch0(c + 3 * ldc);
        Sse.Prefetch0(c + 3 * ldc + 16);
        Sse.Prefetch0(c + 4 * ldc);
        Sse.Prefetch0(c + 4 * ldc + 16);
        Sse.Prefetch0(c + 5 * ldc);
        Sse.Prefetch0(c + 5 * ldc + 16);
        Sse.Prefetch0(c + 6 * ldc);
        Sse.Prefetch0(c + 6 * ldc + 16);
        Sse.Prefetch0(c + 7 * ldc);
        Sse.Prefetch0(c + 7 * ldc + 16);
        Sse.Prefetch0(c + 8 * ldc);
        Sse.Prefetch0(c + 8 * ldc + 16);
        Sse.Prefetch0(c + 9 * ldc);
        Sse.Prefetch0(c + 9 * ldc + 16);
        Sse.Prefetch0(c + 10 * ldc);
        Sse.Prefetch0(c + 10 * ldc + 16);
        Sse.Prefetch0(c + 11 * ldc);
        Sse.Prefetch0(c + 11 * ldc + 16);
        Sse.Prefetch0(c + 12 * ldc);
        Sse.Prefetch0(c + 12 * ldc + 16);
        Sse.Prefetch0(c + 13 * ldc);
        Sse.Prefetch0(c + 13 * ldc + 16);
        float* a0 = a, a4 = a + (4 * lda), a8 = a + (8 * lda), a12 = a + (12 * lda);
        var l3 = 3 * lda;
        var end = pb + (nint)kc * 32;
        while (pb < end)
        {
            Sse.Prefetch0(pb + 256);
            var b0u0 = Vector512.Load(pb);
            var b1u0 = Vector512.Load(pb + 16);
            var a0u0 = Vector512.Create(a0[0]);
            c0_0 = Avx512F.FusedMultiplyAdd(a0u0, b0u0, c0_0);
            c0_1 = Avx512F.FusedMultiplyAdd(a0u0, b1u0, c0_1);
            var a1u0 = Vector512.Create(a0[lda]);
            c1_0 = Avx512F.FusedMultiplyAdd(a1u0, b0u0, c1_0);
            c1_1 = Avx512F.FusedMultiplyAdd(a1u0, b1u0, c1_1);
            var a2u0 = Vector512.Create(*(a0 + (2 * lda)));
            c2_0 = Avx512F.FusedMultiplyAdd(a2u0, b0u0, c2_0);
            c2_1 = Avx512F.FusedMultiplyAdd(a2u0, b1u0, c2_1);
            var a3u0 = Vector512.Create(*(a0 + l3));
            c3_0 = Avx512F.FusedMultiplyAdd(a3u0, b0u0, c3_0);
            c3_1 = Avx512F.FusedMultiplyAdd(a3u0, b1u0, c3_1);
            var a4u0 = Vector512.Create(a4[0]);
            c4_0 = Avx512F.FusedMultiplyAdd(a4u0, b0u0, c4_0);
            c4_1 = Avx512F.FusedMultiplyAdd(a4u0, b1u0, c4_1);
            var a5u0 = Vector512.Create(a4[lda]);
            c5_0 = Avx512F.FusedMultiplyAdd(a5u0, b0u0, c5_0);
            c5_1 = Avx512F.FusedMultiplyAdd(a5u0, b1u0, c5_1);
            var a6u0 = Vector512.Create(*(a4 + (2 * lda)));
            c6_0 = Avx512F.FusedMultiplyAdd(a6u0, b0u0, c6_0);
            c6_1 = Avx512F.FusedMultiplyAdd(a6u0, b1u0, c6_1);
            var a7u0 = Vector512.Create(*(a4 + l3));
            c7_0 = Avx512F.FusedMultiplyAdd(a7u0, b0u0, c7_0);
            c7_1 = Avx512F.FusedMultiplyAdd(a7u0, b1u0, c7_1);
            var a8u0 = Vector512.Create(a8[0]);
            c8_0 = Avx512F.FusedMultiplyAdd(a8u0, b0u0, c8_0);
            c8_1 = Avx512F.FusedMultiplyAdd(a8u0, b1u0, c8_1);
            var a9u0 = Vector512.Create(a8[lda]);
            c9_0 = Avx512F.FusedMultiplyAdd(a9u0, b0u0, c9_0);
            c9_1 = Avx512F.FusedMultiplyAdd(a9u0, b1u0, c9_1);
            var a10u0 = Vector512.Create(*(a8 + (2 * lda)));
            c10_0 = Avx512F.FusedMultiplyAdd(a10u0, b0u0, c10_0);
            c10_1 = Avx512F.FusedMultiplyAdd(a10u0, b1u0, c10_1);
            var a11u0 = Vector512.Create(*(a8 + l3));
            c11_0 = Avx512F.FusedMultiplyAdd(a11u0, b0u0, c11_0);
            c11_1 = Avx512F.FusedMultiplyAdd(a11u0, b1u0, c11_1);
            var a12u0 = Vector512.Create(a12[0]);
            c12_0 = Avx512F.FusedMultiplyAdd(a12u0, b0u0, c12_0);
            c12_1 = Avx512F.FusedMultiplyAdd(a12u0, b1u0, c12_1);
            var a13u0 = Vector512.Create(a12[lda]);
            c13_0 = Avx512F.FusedMultiplyAdd(a13u0, b0u0, c13_0);
            c13_1 = Avx512F.FusedMultiplyAdd(a13u0, b1u0, c13_1);
            a0++;
            a4++;
            a8++;
            a12++;
            pb += 32;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Vector512.Store(c0_0 * va, c);
            Vector512.Store(c0_1 * va, c + 16);
            Vector512.Store(c1_0 * va, c + 1 * ldc);
            Vector512.Store(c1_1 * va, c + 1 * ldc + 16);
            Vector512.Store(c2_0 * va, c + 2 * ldc);
            Vector512.Store(c2_1 * va, c + 2 * ldc + 16);
            Vector512.Store(c3_0 * va, c + 3 * ldc);
            Vector512.Store(c3_1 * va, c + 3 * ldc + 16);
            Vector512.Store(c4_0 * va, c + 4 * ldc);
            Vector512.Store(c4_1 * va, c + 4 * ldc + 16);
            Vector512.Store(c5_0 * va, c + 5 * ldc);
            Vector512.Store(c5_1 * va, c + 5 * ldc + 16);
            Vector512.Store(c6_0 * va, c + 6 * ldc);
            Vector512.Store(c6_1 * va, c + 6 * ldc + 16);
            Vector512.Store(c7_0 * va, c + 7 * ldc);
            Vector512.Store(c7_1 * va, c + 7 * ldc + 16);
            Vector512.Store(c8_0 * va, c + 8 * ldc);
            Vector512.Store(c8_1 * va, c + 8 * ldc + 16);
            Vector512.Store(c9_0 * va, c + 9 * ldc);
            Vector512.Store(c9_1 * va, c + 9 * ldc + 16);
            Vector512.Store(c10_0 * va, c + 10 * ldc);
            Vector512.Store(c10_1 * va, c + 10 * ldc + 16);
            Vector512.Store(c11_0 * va, c + 11 * ldc);
            Vector512.Store(c11_1 * va, c + 11 * ldc + 16);
            Vector512.Store(c12_0 * va, c + 12 * ldc);
            Vector512.Store(c12_1 * va, c + 12 * ldc + 16);
            Vector512.Store(c13_0 * va, c + 13 * ldc);
            Vector512.Store(c13_1 * va, c + 13 * ldc + 16);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c), vb, c0_0 * va), c);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c0_1 * va), c + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 1 * ldc), vb, c1_0 * va), c + 1 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 1 * ldc + 16), vb, c1_1 * va), c + 1 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 2 * ldc), vb, c2_0 * va), c + 2 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 2 * ldc + 16), vb, c2_1 * va), c + 2 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 3 * ldc), vb, c3_0 * va), c + 3 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 3 * ldc + 16), vb, c3_1 * va), c + 3 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 4 * ldc), vb, c4_0 * va), c + 4 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 4 * ldc + 16), vb, c4_1 * va), c + 4 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 5 * ldc), vb, c5_0 * va), c + 5 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 5 * ldc + 16), vb, c5_1 * va), c + 5 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 6 * ldc), vb, c6_0 * va), c + 6 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 6 * ldc + 16), vb, c6_1 * va), c + 6 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 7 * ldc), vb, c7_0 * va), c + 7 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 7 * ldc + 16), vb, c7_1 * va), c + 7 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 8 * ldc), vb, c8_0 * va), c + 8 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 8 * ldc + 16), vb, c8_1 * va), c + 8 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 9 * ldc), vb, c9_0 * va), c + 9 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 9 * ldc + 16), vb, c9_1 * va), c + 9 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 10 * ldc), vb, c10_0 * va), c + 10 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 10 * ldc + 16), vb, c10_1 * va), c + 10 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 11 * ldc), vb, c11_0 * va), c + 11 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 11 * ldc + 16), vb, c11_1 * va), c + 11 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 12 * ldc), vb, c12_0 * va), c + 12 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 12 * ldc + 16), vb, c12_1 * va), c + 12 * ldc + 16);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 13 * ldc), vb, c13_0 * va), c + 13 * ldc);
            Vector512.Store(Avx512F.FusedMultiplyAdd(Vector512.Load(c + 13 * ldc + 16), vb, c13_1 * va), c + 13 * ldc + 16);
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
