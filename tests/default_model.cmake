# The embedded default model (assets/default-model): loads, and its accuracy is in the band.
add_test(NAME default_model_accuracy COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_default_model.sh
  ${T2_EXE} ${PROJECT_SOURCE_DIR}/assets/default-model)
set_tests_properties(default_model_accuracy PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 600
  LABELS "default_model")
t2_add_cli_test(NAME default_model_inspect LABELS default_model STDOUT "1674048"
  COMMAND ${T2_EXE} inspect ${PROJECT_SOURCE_DIR}/assets/default-model)
# The distilled half-depth model (assets/distilled-model, docs/base-model.md): loads, has the
# parameters of two of the default's layers, and its accuracy is in the same band.
add_test(NAME distilled_model_accuracy COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_default_model.sh
  ${T2_EXE} ${PROJECT_SOURCE_DIR}/assets/distilled-model)
set_tests_properties(distilled_model_accuracy PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 600
  LABELS "default_model")
t2_add_cli_test(NAME distilled_model_inspect LABELS default_model
  STDOUT "parameters: 886848 in the files"
  COMMAND ${T2_EXE} inspect ${PROJECT_SOURCE_DIR}/assets/distilled-model)
