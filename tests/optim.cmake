# rl/optim: AdamW, clipping and the learning-rate schedule against PyTorch's numbers.
t2_add_test(NAME optim SOURCES test_optim.c LABELS rl)
