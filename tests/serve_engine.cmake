# serve: the engine behind `t2 serve` (rl/serve_engine.h) on the shipped default model with a
# store and a bundle of random experts made by the test: concurrent requests on base, experts
# and auto each as they are alone, streaming, stop strings, max_tokens, usage, cancel, the
# queue bound, every refusal, drain (tests/test_serve_engine.c).
t2_add_test(NAME serve_engine SOURCES test_serve_engine.c serve_fixture.c serve_inputs.c
  bundle_fixture.c LABELS serve TIMEOUT 120)
# prompt reuse: what a slot keeps, copies and which slot a request takes
# (tests/test_serve_reuse.c)
t2_add_test(NAME serve_reuse SOURCES test_serve_reuse.c serve_fixture.c serve_inputs.c
  bundle_fixture.c LABELS serve TIMEOUT 120)
# the choice of form for steps that mix experts (rl/serve_form.c) on recorded timings
t2_add_test(NAME serve_form SOURCES test_serve_form.c LABELS serve)
