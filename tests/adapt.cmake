# adapt: the pieces of the adaptation (DESIGN.md, Adaptation): the cross-entropy method over
# mixture weights (rl/cem.h) on toy objectives, and reading the category out of a
# classification completion for prompt-based dispatch (rl/dispatch.h).
t2_add_test(NAME cem SOURCES test_cem.c LABELS adapt TIMEOUT 30)
t2_add_test(NAME dispatch SOURCES test_dispatch.c LABELS adapt TIMEOUT 30)
