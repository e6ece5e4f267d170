# train: the backward kernels and the training pass (model/train.h) — finite-difference
# gradient checks, agreement with the inference forward, the linear-layer callback.
t2_add_test(NAME ops_backward SOURCES test_ops_backward.c LABELS train)
t2_add_test(NAME train_grad SOURCES test_train_grad.c test_train_reference.c LABELS train)
t2_add_test(NAME train_forward SOURCES test_train_forward.c model_fixture.c LABELS train)
t2_add_test(NAME train_callback SOURCES test_train_callback.c test_train_reference.c LABELS train)
t2_add_test(NAME train_threads SOURCES test_train_threads.c model_fixture.c LABELS train)

# The test harness itself: tests/expect.sh passes a command that ends as required and, for
# one that does not, prints the command it ran, quoted (tests/test_expect.sh).
add_test(NAME harness_expect COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_expect.sh
  ${PROJECT_SOURCE_DIR})
set_tests_properties(harness_expect PROPERTIES TIMEOUT 30 LABELS harness)
