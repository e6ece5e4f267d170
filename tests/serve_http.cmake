# serve: `t2 serve` (cmd/serve*.c, docs/serve.md) over HTTP on the shipped default model, with
# curl and small /usr/bin/python3 socket clients (tests/test_serve_http.sh): every route,
# streams against whole answers, each bad input with its status and error object, a client
# that leaves mid-stream, a slow client, a full queue, SIGTERM / SIGINT, bad command lines;
# the official openai npm client (tests/test_serve_openai.mjs; skipped without it); and a
# short load test (tests/test_serve_load.sh: 64 clients for 5 s; the 30 s run is documented
# in docs/serve.md). The inputs (store, experts, bundle) are written once into SV.
set(SV ${CMAKE_CURRENT_BINARY_DIR}/serve_inputs)
function(t2_serve_test mode timeout)
  add_test(NAME serve_${mode} COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_serve_http.sh
    ${mode} ${T2_EXE} ${PROJECT_SOURCE_DIR} ${SV} ${MPIEXEC_EXECUTABLE})
  set_tests_properties(serve_${mode} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}"
    TIMEOUT ${timeout} LABELS serve)
endfunction()
t2_serve_test(fixtures 300)
set_tests_properties(serve_fixtures PROPERTIES FIXTURES_SETUP serve_inputs)
t2_serve_test(api 300)
t2_serve_test(clients 300)
t2_serve_test(cli 300)
set_tests_properties(serve_api serve_clients serve_cli PROPERTIES FIXTURES_REQUIRED serve_inputs
  RESOURCE_LOCK serve_inputs_files)

add_test(NAME serve_openai COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_serve_openai.sh
  ${T2_EXE} ${PROJECT_SOURCE_DIR} ${SV})
set_tests_properties(serve_openai PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 300
  LABELS serve FIXTURES_REQUIRED serve_inputs RESOURCE_LOCK serve_inputs_files
  SKIP_RETURN_CODE 77)

add_test(NAME serve_load COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_serve_load.sh
  ${T2_EXE} ${PROJECT_SOURCE_DIR} ${SV} 5)
set_tests_properties(serve_load PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 300
  LABELS serve FIXTURES_REQUIRED serve_inputs RESOURCE_LOCK serve_inputs_files)

t2_add_cli_test(NAME serve_help LABELS serve STDOUT "^usage: t2 serve .*--model DIR"
  COMMAND ${T2_EXE} serve --help)
t2_add_cli_test(NAME serve_help_settings LABELS serve STDOUT "^  --max-body N +"
  COMMAND ${T2_EXE} serve --help)
t2_add_cli_test(NAME serve_main_help LABELS serve STDOUT "^  serve +serve the model"
  COMMAND ${T2_EXE} --help)
