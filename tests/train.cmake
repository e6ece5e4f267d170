# train: the backward kernels and the training pass (model/train.h) — finite-difference
# gradient checks, agreement with the inference forward, the linear-layer callback.
t2_add_test(NAME ops_backward SOURCES test_ops_backward.c LABELS train)
t2_add_test(NAME train_grad SOURCES test_train_grad.c test_train_reference.c LABELS train)
t2_add_test(NAME train_forward SOURCES test_train_forward.c model_fixture.c LABELS train)
t2_add_test(NAME train_callback SOURCES test_train_callback.c test_train_reference.c LABELS train)
t2_add_test(NAME train_threads SOURCES test_train_threads.c model_fixture.c LABELS train)
