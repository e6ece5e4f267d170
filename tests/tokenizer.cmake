# Tokenizer: unit tests on hand-built fixtures, GPT-2's real vectors, the writer, prompt
# formats, and the `t2 tokenize` command line.
t2_add_test(NAME tokenizer_gpt2 SOURCES test_tokenizer_gpt2.c LABELS tokenizer TIMEOUT 60)
set_tests_properties(tokenizer_gpt2 PROPERTIES SKIP_RETURN_CODE 77)
t2_add_test(NAME tokenizer SOURCES test_tokenizer.c LABELS tokenizer TIMEOUT 60)
t2_add_test(NAME tokenizer_write SOURCES test_tokenizer_write.c LABELS tokenizer)
t2_add_test(NAME tokenizer_prompt SOURCES test_tokenizer_prompt.c LABELS tokenizer)

# The command line. Fixture folders hold a tokenizer.json, so --model works on them too.
set(TOK_DATA ${PROJECT_SOURCE_DIR}/tests/data/tokenizers)
t2_add_cli_test(NAME tokenize_cli_help LABELS tokenizer cli STDOUT "^usage: t2 tokenize"
  COMMAND ${T2_EXE} tokenize --help)
# hello -> 261, " the" -> 258 (see test_tokenizer.c for why)
t2_add_cli_test(NAME tokenize_cli_encode LABELS tokenizer cli STDOUT "^261 258$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel "hello the")
t2_add_cli_test(NAME tokenize_cli_special LABELS tokenizer cli STDOUT "^261 263 258 264$"
  COMMAND ${T2_EXE} tokenize --tokenizer ${TOK_DATA}/bytelevel/tokenizer.json
          "hello<|endoftext|> the<|end|>")
# standard input, exact bytes: the file's final newline is byte 10
t2_add_cli_test(NAME tokenize_cli_stdin LABELS tokenizer cli STDOUT "^261 258 10$"
  STDIN ${TOK_DATA}/hello.txt COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel --file -)
t2_add_cli_test(NAME tokenize_cli_bos LABELS tokenizer cli STDOUT "^300 257 108 108 111 261$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/llama3 --bos "hello world")
t2_add_cli_test(NAME tokenize_cli_no_bos LABELS tokenizer cli STDOUT "^261$"
  STDERR "warning: the tokenizer has no BOS token"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel --bos "hello")
# the fixture's TemplateProcessing puts <s> (1) first, as Hugging Face's encode does
t2_add_cli_test(NAME tokenize_cli_sentencepiece LABELS tokenizer cli STDOUT "^1 271 276$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/sentencepiece "hello world")
# decode prints the text exactly (no newline added); ids may share an argument
t2_add_cli_test(NAME tokenize_cli_decode LABELS tokenizer cli STDOUT "^hello<\\|endoftext\\|> the$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel --decode 261 "263 258")
t2_add_cli_test(NAME tokenize_cli_decode_sentencepiece LABELS tokenizer cli STDOUT "^<s>hello world$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/sentencepiece --decode 1 271 276)
# bad input: one clear line each
t2_add_cli_test(NAME tokenize_cli_invalid_json LABELS tokenizer cli EXIT 1
  STDERR "^t2 tokenize: error: .*invalid/tokenizer.json: invalid JSON at line 3 column 27: .*. expected a Hugging Face tokenizer.json$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/invalid "x")
t2_add_cli_test(NAME tokenize_cli_unsupported LABELS tokenizer cli EXIT 1
  STDERR "wordpiece/tokenizer.json: model type 'WordPiece' is not supported. expected BPE \\(byte-level or SentencePiece-style\\)$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/wordpiece "x")
t2_add_cli_test(NAME tokenize_cli_missing_file LABELS tokenizer cli EXIT 1
  STDERR "^t2 tokenize: error: .*absent/tokenizer.json: cannot open: No such file or directory$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/absent "x")
t2_add_cli_test(NAME tokenize_cli_missing_text_file LABELS tokenizer cli EXIT 1
  STDERR "^t2 tokenize: error: .*absent.txt: cannot open"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel --file ${TOK_DATA}/absent.txt)
t2_add_cli_test(NAME tokenize_cli_decode_malformed LABELS tokenizer cli EXIT 1
  STDERR "^t2 tokenize: error: --decode: '12x' is not a token id. expected an integer in \\[0, 265\\]$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel --decode 261 12x)
t2_add_cli_test(NAME tokenize_cli_decode_out_of_range LABELS tokenizer cli EXIT 1
  STDERR "'266' is not a token id. expected an integer in \\[0, 265\\]$"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel --decode 266)
t2_add_cli_test(NAME tokenize_cli_decode_malformed_file LABELS tokenizer cli EXIT 1
  STDERR "hello.txt: 'hello' is not a token id"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel --decode --file ${TOK_DATA}/hello.txt)
t2_add_cli_test(NAME tokenize_cli_no_tokenizer LABELS tokenizer cli EXIT 2
  STDERR "give one of --model DIR or --tokenizer FILE"
  COMMAND ${T2_EXE} tokenize "x")
t2_add_cli_test(NAME tokenize_cli_two_texts LABELS tokenizer cli EXIT 2
  STDERR "expected one TEXT argument \\(quote it\\) or --file. got 2"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel hello there)
t2_add_cli_test(NAME tokenize_cli_missing_value LABELS tokenizer cli EXIT 2
  STDERR "option '--file' needs a value"
  COMMAND ${T2_EXE} tokenize --model ${TOK_DATA}/bytelevel --file)
# encode a file (without the fixture's BOS), decode the ids from standard input: the same
# bytes come back (the text is the byte-level fixture: JSON full of characters the
# SentencePiece fixture lacks, so they go through byte fallback; it holds no literal "▁",
# which would come back as a space)
t2_add_cli_test(NAME tokenize_cli_round_trip LABELS tokenizer cli
  COMMAND sh -c "\"$0\" tokenize --model \"$1\" --no-special-tokens --file \"$2\" | \"$0\" tokenize --model \"$1\" --decode --file - | cmp - \"$2\""
          ${T2_EXE} ${TOK_DATA}/sentencepiece ${TOK_DATA}/bytelevel/tokenizer.json)

# Training a tokenizer (model/tokenizer_train.h): the merges against the Python reference,
# the written tokenizer.json loaded back, and `t2 tokenizer train`.
t2_add_test(NAME tokenizer_train SOURCES test_tokenizer_train.c LABELS tokenizer)
set(BPE_CORPUS ${PROJECT_SOURCE_DIR}/tests/reference/bpe/corpus.txt)
set(BPE_OUT ${CMAKE_CURRENT_BINARY_DIR}/tokenizer-train)
t2_add_cli_test(NAME tokenizer_train_cli_help LABELS tokenizer cli
  STDOUT "^usage: t2 tokenizer train --out DIR --vocab-size N"
  COMMAND ${T2_EXE} tokenizer train --help)
# 400 ids = 256 bytes + 3 specials + 141 merges (the reference has 260 pairs seen twice or more)
t2_add_cli_test(NAME tokenizer_train_cli_text LABELS tokenizer cli
  STDERR "wrote .*/tokenizer-train/tokenizer.json: 141 merges, 400 ids"
  COMMAND ${T2_EXE} tokenizer train --out ${BPE_OUT} --vocab-size 400 --text ${BPE_CORPUS})
# the corpus mix: every merge found (vocab reached), and the compression printed
t2_add_cli_test(NAME tokenizer_train_cli_corpus LABELS tokenizer cli
  STDERR "1024 ids .* bytes per token on 1000 test documents"
  COMMAND ${T2_EXE} tokenizer train --out ${BPE_OUT}-mix --vocab-size 1024
          --corpus math:3,code:3,reasoning:3 --documents 2000)
t2_add_cli_test(NAME tokenizer_train_cli_no_out LABELS tokenizer cli EXIT 2
  STDERR "^t2 tokenizer train: error: --out DIR is required$"
  COMMAND ${T2_EXE} tokenizer train --vocab-size 400 --text ${BPE_CORPUS})
t2_add_cli_test(NAME tokenizer_train_cli_small_vocab LABELS tokenizer cli EXIT 2
  STDERR "^t2 tokenizer train: error: .*vocab-size.*259"
  COMMAND ${T2_EXE} tokenizer train --out ${BPE_OUT} --vocab-size 100 --text ${BPE_CORPUS})
t2_add_cli_test(NAME tokenizer_train_cli_no_input LABELS tokenizer cli EXIT 2
  STDERR "^t2 tokenizer train: error: nothing to learn from. expected --corpus MIX and/or --text FILE$"
  COMMAND ${T2_EXE} tokenizer train --out ${BPE_OUT} --vocab-size 400)
t2_add_cli_test(NAME tokenizer_train_cli_missing_text LABELS tokenizer cli EXIT 1
  STDERR "^t2 tokenizer train: error: .*/missing.txt: "
  COMMAND ${T2_EXE} tokenizer train --out ${BPE_OUT} --vocab-size 400 --text ${BPE_OUT}/missing.txt)
t2_add_cli_test(NAME tokenizer_train_cli_bad_mix LABELS tokenizer cli EXIT 1
  STDERR "^t2 tokenizer train: error: corpus mix"
  COMMAND ${T2_EXE} tokenizer train --out ${BPE_OUT} --vocab-size 400 --corpus nope:2)
t2_add_cli_test(NAME tokenizer_cli_no_subcommand LABELS tokenizer cli EXIT 2
  STDERR "^t2 tokenizer: error: expected the subcommand train"
  COMMAND ${T2_EXE} tokenizer)
set_tests_properties(tokenizer_train_cli_text PROPERTIES FIXTURES_SETUP bpe_tokenizer)
# a model on the trained tokenizer: its vocabulary and BOS / EOS ids come from it
t2_add_cli_test(NAME new_model_cli_tokenizer LABELS tokenizer cli FIXTURES bpe_tokenizer
  STDOUT "vocab_size +400"
  COMMAND sh -c "'${T2_EXE}' new-model --out '${BPE_OUT}-model' --tokenizer '${BPE_OUT}' --hidden 64 --layers 1 --heads 2 --kv-heads 1 --ffn 64 && '${T2_EXE}' inspect '${BPE_OUT}-model' && cmp '${BPE_OUT}/tokenizer.json' '${BPE_OUT}-model/tokenizer.json'")
t2_add_cli_test(NAME new_model_cli_tokenizer_small_vocab LABELS tokenizer cli FIXTURES bpe_tokenizer
  EXIT 1 STDERR "^t2 new-model: error: --vocab: 300 is smaller than the tokenizer's 400 ids. expected at least 400$"
  COMMAND ${T2_EXE} new-model --out ${BPE_OUT}-model2 --tokenizer ${BPE_OUT} --vocab 300)
t2_add_cli_test(NAME new_model_cli_tokenizer_missing LABELS tokenizer cli EXIT 1
  STDERR "^t2 new-model: error: .*/nowhere/tokenizer.json: "
  COMMAND ${T2_EXE} new-model --out ${BPE_OUT}-model3 --tokenizer ${BPE_OUT}/nowhere)
