# linalg: GEMM wrappers against their plain-loop twins; BLIS kernel selection.
t2_add_test(NAME gemm SOURCES test_gemm.c LABELS linalg)
