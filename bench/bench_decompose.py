#!/usr/bin/python3
"""numpy.linalg.svd timing for bench_decompose: one ROWS x COLS matrix (uniform in
[-0.5, 0.5), thin SVD with vectors), in double or float; prints "seconds: S".
Thread counts come from the environment the benchmark sets (BLIS_NUM_THREADS etc.).
Usage: bench_decompose.py ROWS COLS double|float"""
import sys
import time

import numpy as np

rows, cols, precision = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
dtype = np.float64 if precision == "double" else np.float32
w = np.random.default_rng(0).uniform(-0.5, 0.5, (rows, cols)).astype(dtype)
start = time.perf_counter()
u, s, vt = np.linalg.svd(w, full_matrices=False)
print(f"seconds: {time.perf_counter() - start:.6f}")
