# adapter: the SVF and LoRA adapters (model/adapter.h) — layout and bad inputs, compose and
# accumulate against plain loops, and the whole-model finite-difference gradient check
# through the training pass.
t2_add_test(NAME adapter SOURCES test_adapter.c test_adapter_fixture.c test_train_reference.c
  LABELS adapter TIMEOUT 60)
t2_add_test(NAME adapter_grad SOURCES test_adapter_grad.c test_adapter_fixture.c
  test_train_reference.c LABELS adapter TIMEOUT 60)
t2_add_test(NAME mixture SOURCES test_mixture.c test_adapter_fixture.c test_train_reference.c
  LABELS adapter TIMEOUT 60)
