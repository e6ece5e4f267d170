# Model files: config.json, safetensors read/write (single and sharded), weights, and
# `t2 inspect` on good and bad inputs (docs/formats.md lists the validation rules).
t2_add_test(NAME model_config SOURCES test_config.c LABELS model_io TIMEOUT 30)
t2_add_test(NAME safetensors_roundtrip SOURCES test_safetensors.c LABELS model_io TIMEOUT 30)
t2_add_test(NAME safetensors_sharded SOURCES test_safetensors_sharded.c LABELS model_io
  TIMEOUT 30)
t2_add_test(NAME model_weights SOURCES test_weights.c LABELS model_io TIMEOUT 30)

# The inputs of the inspect tests below, written into the build tree by one fixture test.
set(T2_BAD_INPUTS ${CMAKE_CURRENT_BINARY_DIR}/model_io_inputs)
t2_add_test(NAME model_io_make_inputs SOURCES make_bad_inputs.c LABELS model_io TIMEOUT 30
  ARGS ${T2_BAD_INPUTS})
set_tests_properties(model_io_make_inputs PROPERTIES FIXTURES_SETUP model_io_inputs)

# t2_inspect_test(name exit stderr-regex stdout-regex path-under-the-inputs)
function(t2_inspect_test name exit stderr stdout path)
  t2_add_cli_test(NAME inspect_${name} LABELS model_io TIMEOUT 30 EXIT ${exit}
    STDERR "${stderr}" STDOUT "${stdout}" FIXTURES model_io_inputs
    COMMAND ${T2_EXE} inspect ${T2_BAD_INPUTS}/${path})
endfunction()

# Good inputs: the counts in the files agree with the config.
t2_inspect_test(good 0 "" "parameters: ([0-9]+) in the files. \\1 implied by config.json" good)
t2_inspect_test(good_sharded 0 "" "tensors: 39 in 2 files" good_sharded)
t2_inspect_test(good_sharded_count 0 ""
  "parameters: ([0-9]+) in the files. \\1 implied by config.json" good_sharded)
t2_inspect_test(good_generation_config 0 "" "eos_token_id +2, 3" good)
t2_inspect_test(good_tied_with_lm_head 0 "" "tie_word_embeddings +true" good_tied_with_lm_head)
t2_inspect_test(good_file 0 "" "model.layers.3.mlp.up_proj.weight +BF16 +\\[24, 16\\]"
  good/model.safetensors)

# Bad safetensors files: one line naming the file and the problem, exit 1.
t2_inspect_test(truncated 1 "truncated\\.safetensors: file is truncated \\(5 bytes\\)" ""
  truncated.safetensors)
t2_inspect_test(header_past_end 1
  "header_past_end\\.safetensors: header length 4096 runs past the end of the file" ""
  header_past_end.safetensors)
t2_inspect_test(offsets_outside 1
  "offsets_outside\\.safetensors: tensor 'w': data_offsets \\[0, 16\\] lie outside the data buffer of 8 bytes"
  "" offsets_outside.safetensors)
t2_inspect_test(end_before_begin 1
  "end_before_begin\\.safetensors: tensor 'w': data_offsets \\[8, 4\\] end before they begin" ""
  end_before_begin.safetensors)
t2_inspect_test(overlapping 1 "overlapping\\.safetensors: tensors 'a' and 'b' overlap" ""
  overlapping.safetensors)
t2_inspect_test(unknown_dtype 1
  "unknown_dtype\\.safetensors: tensor 'w' has unknown dtype 'Q4_K'. expected one of" ""
  unknown_dtype.safetensors)
t2_inspect_test(size_mismatch 1
  "size_mismatch\\.safetensors: tensor 'w': shape \\[3\\] of F32 needs 12 bytes but data_offsets \\[0, 16\\] span 16"
  "" size_mismatch.safetensors)
t2_inspect_test(shape_overflow 1
  "shape_overflow\\.safetensors: tensor 'w': shape's element count overflows" ""
  shape_overflow.safetensors)
t2_inspect_test(header_invalid_json 1
  "header_invalid_json\\.safetensors: invalid JSON at line 1 column [0-9]+" ""
  header_invalid_json.safetensors)
t2_inspect_test(header_not_object 1
  "header_not_object\\.safetensors: the JSON text is an array. expected a JSON object" ""
  header_not_object.safetensors)
t2_inspect_test(duplicate_key 1 "duplicate_key\\.safetensors: invalid JSON .*duplicate" ""
  duplicate_key.safetensors)
t2_inspect_test(bad_metadata 1
  "bad_metadata\\.safetensors: __metadata__ key 'k' is an integer. expected a string" ""
  bad_metadata.safetensors)
t2_inspect_test(nonexistent 1 "does_not_exist\\.safetensors: cannot open: No such file" ""
  does_not_exist.safetensors)

# Bad model folders.
t2_inspect_test(missing_tensor 1
  "missing_tensor/model\\.safetensors: missing tensor 'model\\.layers\\.3\\.mlp\\.up_proj\\.weight'. expected by config\\.json \\(num_hidden_layers = 4\\)"
  "" missing_tensor)
t2_inspect_test(shape_mismatch 1
  "shape_mismatch/model\\.safetensors: tensor 'model\\.norm\\.weight' has shape \\[15\\]. expected \\[16\\]"
  "" shape_mismatch)
t2_inspect_test(no_weights 1
  "no_weights: no model\\.safetensors or model\\.safetensors\\.index\\.json in this folder" ""
  no_weights)
t2_inspect_test(missing_shard 1
  "missing_shard/model-00002-of-00002\\.safetensors: cannot open: No such file or directory. expected the shard named by .*missing_shard/model\\.safetensors\\.index\\.json"
  "" missing_shard)
t2_inspect_test(absent_in_shard 1
  "absent_in_shard/model-00001-of-00002\\.safetensors: tensor '[^']+' is listed in .*index\\.json but absent from this shard"
  "" absent_in_shard)
t2_inspect_test(duplicate_across_shards 1
  "duplicate_across_shards/model-0000[12]-of-00002\\.safetensors: tensor 'model\\.norm\\.weight' also appears in"
  "" duplicate_across_shards)
t2_inspect_test(index_invalid_json 1
  "index_invalid_json/model\\.safetensors\\.index\\.json: invalid JSON at line 1" ""
  index_invalid_json)

# Bad config.json / generation_config.json.
t2_inspect_test(config_invalid_json 1
  "config_invalid_json/config\\.json: invalid JSON at line 3 column [0-9]+" "" config_invalid_json)
t2_inspect_test(config_missing_key 1
  "config_missing_key/config\\.json: missing required key 'hidden_size'. expected an integer" ""
  config_missing_key)
t2_inspect_test(config_wrong_type 1
  "config_wrong_type/config\\.json: key 'num_hidden_layers' is a string. expected an integer" ""
  config_wrong_type)
t2_inspect_test(config_unknown_type 1
  "config_unknown_type/config\\.json: model_type 'gpt2' is not supported. expected one of llama, mistral, qwen2"
  "" config_unknown_type)
t2_inspect_test(config_heads 1
  "config_heads/config\\.json: num_key_value_heads 3 does not divide num_attention_heads 4" ""
  config_heads)
t2_inspect_test(config_rope_type 1
  "config_rope_type/config\\.json: rope_scaling type 'yarn' is not supported" ""
  config_rope_type)
t2_inspect_test(generation_invalid_json 1
  "generation_invalid_json/generation_config\\.json: invalid JSON at line 1" ""
  generation_invalid_json)

# Usage.
t2_add_cli_test(NAME inspect_help LABELS model_io STDOUT "usage: t2 inspect"
  COMMAND ${T2_EXE} inspect --help)
t2_add_cli_test(NAME inspect_no_path LABELS model_io EXIT 2 STDERR "t2 inspect: error: expected one PATH"
  COMMAND ${T2_EXE} inspect)
t2_add_cli_test(NAME inspect_bad_option LABELS model_io EXIT 2
  STDERR "t2 inspect: error: unknown option '--bogus'" COMMAND ${T2_EXE} inspect --bogus x)
