# forward: elementwise kernels, RoPE, KV cache, the batched forward, golden logits,
# sampling, generation and the generate command.
t2_add_test(NAME ops SOURCES test_ops.c LABELS forward)
t2_add_test(NAME forward SOURCES test_forward.c model_fixture.c LABELS forward)
t2_add_test(NAME forward_rope SOURCES test_forward_rope.c LABELS forward)
# Writes the fixture models into the build tree for the command-line tests below.
set(T2_FORWARD_MODELS ${CMAKE_CURRENT_BINARY_DIR}/forward-models)
t2_add_test(NAME forward_fixture SOURCES test_forward_fixture.c model_fixture.c LABELS forward
  ARGS ${T2_FORWARD_MODELS})
set_tests_properties(forward_fixture PROPERTIES FIXTURES_SETUP forward_models)
t2_add_test(NAME forward_golden SOURCES test_forward_golden.c model_fixture.c LABELS forward)
