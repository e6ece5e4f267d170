# forward: elementwise kernels, RoPE, KV cache, the batched forward, golden logits,
# sampling, generation and the generate command.
t2_add_test(NAME ops SOURCES test_ops.c LABELS forward)
t2_add_test(NAME decode_attention SOURCES test_decode_attention.c LABELS forward)
# the same on the portable loops (the automatic run takes the AVX-512 passes where present)
add_test(NAME decode_attention_plain COMMAND $<TARGET_FILE:test_decode_attention>
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(decode_attention_plain PROPERTIES
  ENVIRONMENT "${T2_TEST_ENV};T2_KERNEL=plain" TIMEOUT 120 LABELS forward)
t2_add_test(NAME forward_attention SOURCES test_forward_attention.c model_fixture.c
  LABELS forward)
t2_add_test(NAME forward SOURCES test_forward.c model_fixture.c LABELS forward)
t2_add_test(NAME forward_groups SOURCES test_forward_groups.c model_fixture.c LABELS forward)
t2_add_test(NAME forward_rope SOURCES test_forward_rope.c LABELS forward)
t2_add_test(NAME kv_cache SOURCES test_kv_cache.c LABELS forward)
t2_add_test(NAME worker_pool SOURCES test_worker_pool.c LABELS forward)
# Writes the fixture models into the build tree for the command-line tests below.
set(T2_FORWARD_MODELS ${CMAKE_CURRENT_BINARY_DIR}/forward-models)
t2_add_test(NAME forward_fixture SOURCES test_forward_fixture.c model_fixture.c LABELS forward
  ARGS ${T2_FORWARD_MODELS})
set_tests_properties(forward_fixture PROPERTIES FIXTURES_SETUP forward_models)
t2_add_test(NAME forward_golden SOURCES test_forward_golden.c model_fixture.c LABELS forward)
t2_add_test(NAME generate SOURCES test_generate.c model_fixture.c LABELS forward)

# t2 generate end to end. "successor" continues "a" with "bcd..." (tests/model_fixture.h),
# so the exact stdout is known; stdout must hold the continuation alone.
set(T2_GEN ${T2_EXE} generate --model ${T2_FORWARD_MODELS}/successor)
t2_add_cli_test(NAME generate_cli_help STDOUT "^usage: t2 generate --model DIR"
  COMMAND ${T2_EXE} generate --help LABELS forward)
t2_add_cli_test(NAME generate_cli_greedy STDOUT "^bcdefghijkl$" FIXTURES forward_models
  COMMAND ${T2_GEN} --prompt a --max-new-tokens 11 LABELS forward)
t2_add_cli_test(NAME generate_cli_verbose STDOUT "^bcdefghijkl$"
  STDERR "1 prompt tokens, 11 new tokens \\(stopped at max-new-tokens\\).*tokens/s"
  FIXTURES forward_models
  COMMAND ${T2_GEN} --prompt a --max-new-tokens 11 --verbose LABELS forward)
t2_add_cli_test(NAME generate_cli_kv_f16 STDOUT "^bcdefghijkl$" STDERR "KV cache F16"
  FIXTURES forward_models
  COMMAND ${T2_GEN} --prompt a --max-new-tokens 11 --kv-cache f16 --verbose LABELS forward)
t2_add_cli_test(NAME generate_cli_kv_bad EXIT 2
  STDERR "--kv-cache: 'bf16' is not known. expected f32 or f16" FIXTURES forward_models
  COMMAND ${T2_GEN} --prompt a --kv-cache bf16 LABELS forward)
t2_add_cli_test(NAME generate_cli_stop STDOUT "^bcde$" FIXTURES forward_models
  COMMAND ${T2_GEN} --prompt a --max-new-tokens 11 --stop xyz --stop fg LABELS forward)
t2_add_cli_test(NAME generate_cli_top_k_1 STDOUT "^bcdefghijkl$" FIXTURES forward_models
  COMMAND ${T2_GEN} --prompt a --max-new-tokens 11 --temperature 1.5 --top-k 1 --seed 9
  LABELS forward)
t2_add_cli_test(NAME generate_cli_sampled STDOUT "^b" FIXTURES forward_models
  COMMAND ${T2_GEN} --prompt a --max-new-tokens 4 --temperature 0.5 --top-p 0.9 --seed 3
  LABELS forward)
t2_add_cli_test(NAME generate_cli_bos STDOUT "^bcd$" STDERR "2 prompt tokens"
  FIXTURES forward_models
  COMMAND ${T2_GEN} --prompt a --max-new-tokens 3 --bos --verbose LABELS forward)
# chatml: <|im_start|> user \n a <|im_end|> \n <|im_start|> assistant \n: 20 tokens when the
# special tokens stay whole
t2_add_cli_test(NAME generate_cli_chatml STDERR "20 prompt tokens" FIXTURES forward_models
  COMMAND ${T2_GEN} --prompt a --max-new-tokens 2 --format chatml --verbose LABELS forward)
t2_add_cli_test(NAME generate_cli_random_model FIXTURES forward_models
  COMMAND ${T2_EXE} generate --model ${T2_FORWARD_MODELS}/qwen2 --prompt "Hello there"
  --max-new-tokens 16 --temperature 0.8 --top-k 40 --top-p 0.95 --seed 1 --format llama3
  LABELS forward)
t2_add_cli_test(NAME generate_cli_no_model EXIT 1
  STDERR "^t2 generate: error: .*no-such-model/config.json: " FIXTURES forward_models
  COMMAND ${T2_EXE} generate --model ${T2_FORWARD_MODELS}/no-such-model --prompt a
  LABELS forward)
t2_add_cli_test(NAME generate_cli_no_weights EXIT 1
  STDERR "^t2 generate: error: .*no_weights.*safetensors" FIXTURES forward_models
  COMMAND ${T2_EXE} generate --model ${T2_FORWARD_MODELS}/no_weights --prompt a LABELS forward)
t2_add_cli_test(NAME generate_cli_bad_top_p EXIT 2 STDERR "--top-p: '1.5' is not valid"
  COMMAND ${T2_GEN} --prompt a --top-p 1.5 LABELS forward)
t2_add_cli_test(NAME generate_cli_bad_temperature EXIT 2 STDERR "--temperature: '-1'"
  COMMAND ${T2_GEN} --prompt a --temperature -1 LABELS forward)
t2_add_cli_test(NAME generate_cli_bad_format EXIT 2 STDERR "--format: 'alpaca' is not known"
  COMMAND ${T2_GEN} --prompt a --format alpaca LABELS forward)
t2_add_cli_test(NAME generate_cli_no_prompt EXIT 2 STDERR "--prompt TEXT is required"
  COMMAND ${T2_GEN} LABELS forward)
t2_add_cli_test(NAME generate_cli_empty_prompt EXIT 1 STDERR "no tokens to start from"
  FIXTURES forward_models COMMAND ${T2_GEN} --prompt= LABELS forward)
# forward_dtype: BF16 / F16 files run in place with their float32 twin's logits.
t2_add_test(NAME forward_dtype SOURCES test_forward_dtype.c model_fixture.c LABELS forward)
# weights_shared: two ranks map one BF16 model; its pages count once for the node (PSS).
t2_add_test(NAME weights_shared SOURCES test_weights_shared.c model_fixture.c RANKS 2
  LABELS "forward;mpi")
