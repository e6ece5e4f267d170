# Tokenizer: unit tests on hand-built fixtures, GPT-2's real vectors, the writer, prompt
# formats, and the `t2 tokenize` command line.
t2_add_test(NAME tokenizer_gpt2 SOURCES test_tokenizer_gpt2.c LABELS tokenizer TIMEOUT 60)
set_tests_properties(tokenizer_gpt2 PROPERTIES SKIP_RETURN_CODE 77)
