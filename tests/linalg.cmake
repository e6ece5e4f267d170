# linalg: GEMM wrappers against their plain-loop twins; BLIS kernel selection.
t2_add_test(NAME gemm SOURCES test_gemm.c LABELS linalg)
# base/alloc.h's huge-page arrays (the weights' slab)
t2_add_test(NAME alloc SOURCES test_alloc.c LABELS linalg)
