/* Private to linalg/: T2_CLONES, run-time ISA dispatch for the elementwise kernels.
 *
 * t2 is compiled for baseline x86-64 (docs/build.md), where fmaf is a call into libm and a
 * vector holds 4 floats: the kernels of ops.c, ops_backward.c and decode_attention.c ran up
 * to 20x slower so, a training step 3x. A function marked T2_CLONES is compiled three times,
 * for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the baseline; the dynamic loader binds
 * the best version the CPU supports (GCC's target_clones: an ifunc, resolved once at
 * start-up). The static helpers it inlines are compiled with it. Every version computes
 * bitwise the same result: ISO C without -ffast-math neither reassociates nor contracts float
 * operations, and fmaf rounds once whether hardware or libm computes it (tests/portable.cmake
 * compares a hash of the outputs under emulated CPUs). A macro because it is an attribute,
 * which no function can stand for. Does not: dispatch the skinny kernels (linalg/skinny.c
 * chooses its own at run time). */
#ifndef T2_LINALG_CLONES_H
#define T2_LINALG_CLONES_H

/* A T2_NATIVE build (-march=native) needs no versions; there they would also stop GCC from
 * inlining the static helpers, whose target (the build machine's) no version's target
 * contains: training steps ran 25 % slower on an AVX-512 machine. */
#ifdef T2_NATIVE_BUILD
#define T2_CLONES
#else
#define T2_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

#endif
