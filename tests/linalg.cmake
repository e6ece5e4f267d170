# linalg: GEMM wrappers against their plain-loop twins; BLIS kernel selection.
t2_add_test(NAME gemm SOURCES test_gemm.c LABELS linalg)
# base/alloc.h's huge-page arrays (the weights' slab)
t2_add_test(NAME alloc SOURCES test_alloc.c LABELS linalg)
# base/memory.h t2_memory_available (the serve engine holds the experts' W' copies against it)
t2_add_test(NAME memory_available SOURCES test_memory_available.c LABELS linalg)
