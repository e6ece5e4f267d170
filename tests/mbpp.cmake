# The mbpp task (rl/task_mbpp.c) and the sandbox its reward runs programs in (rl/sandbox.h):
# each hostile program is its own test, and so is each hostile completion through the reward.

# t2_mbpp_cases(exe case...): one test <exe>_<case> per case, running test_<exe> <case>
# (built once, by the first case).
function(t2_mbpp_cases exe source first)
  t2_add_test(NAME ${exe}_${first} SOURCES ${source} LABELS tasks sandbox TIMEOUT 60
    ARGS ${first})
  set_tests_properties(${exe}_${first} PROPERTIES SKIP_RETURN_CODE 77)
  foreach(case ${ARGN})
    add_test(NAME ${exe}_${case} COMMAND $<TARGET_FILE:test_${exe}_${first}> ${case}
      WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(${exe}_${case} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 60
      LABELS "tasks;sandbox" SKIP_RETURN_CODE 77)
  endforeach()
endfunction()

t2_mbpp_cases(sandbox test_sandbox.c basic timeout cpu fork_bomb output memory write_outside
  shadow socket kill_parent batch)

t2_mbpp_cases(task_mbpp test_task_mbpp.c samples extract rewards other_tasks loop fork_bomb
  output memory write_outside shadow socket kill_parent)

# `t2 task` on mbpp files: listing, showing, scoring, and one line for each kind of bad row.
set(T2_MBPP_DATA ${PROJECT_SOURCE_DIR}/tests/data/tasks)
function(t2_mbpp_cli_test name exit stderr stdout)
  t2_add_cli_test(NAME task_mbpp_cli_${name} LABELS tasks sandbox TIMEOUT 60 EXIT ${exit}
    STDERR "${stderr}" STDOUT "${stdout}" COMMAND ${T2_EXE} task ${ARGN})
endfunction()

t2_mbpp_cli_test(list 0 "" "mbpp +dataset +- +MBPP JSON lines" list)
t2_mbpp_cli_test(show 0 ""
  "== 7  id extra/8  answer assert flatten.*Write a function to flatten a nested list of integers\\. Your code should satisfy the following assertion:\n```python\nassert flatten\\(\\[1, \\[2, \\[3, 4\\]\\], 5\\]\\) == \\[1, 2, 3, 4, 5\\]\n```\n```python\ndef flatten"
  show --task mbpp --data ${T2_MBPP_DATA}/mbpp.jsonl --start 7)
t2_mbpp_cli_test(show_jsonl 0 "" "^\\{\"id\":\"1\",\"prompt\":\"Write a function to return the sum"
  show --task mbpp --data ${T2_MBPP_DATA}/mbpp.jsonl --jsonl -n 1)
# 3 of 8 right by hand: fenced (1), raw (2), prose then a bare block (5); 6 is empty
t2_mbpp_cli_test(score 0 "" "predictions: +8\ncorrect: +3\nno answer: +1\naccuracy: +0\\.3750"
  score --task mbpp --data ${T2_MBPP_DATA}/mbpp.jsonl
  --predictions ${T2_MBPP_DATA}/mbpp_predictions.jsonl)
t2_mbpp_cli_test(score_worked 1 "mbpp\\.jsonl:1: key 'id' is missing" ""
  score --task mbpp --data ${T2_MBPP_DATA}/mbpp.jsonl --predictions ${T2_MBPP_DATA}/mbpp.jsonl)
t2_mbpp_cli_test(score_unknown_id 1
  "qa_predictions\\.jsonl:1: id 'capital' is not a sample of task 'mbpp' \\(8 samples\\)" ""
  score --task mbpp --data ${T2_MBPP_DATA}/mbpp.jsonl
  --predictions ${T2_MBPP_DATA}/qa_predictions.jsonl)
t2_mbpp_cli_test(no_data 2 "task 'mbpp' reads a JSON-lines file. give --data FILE" ""
  show --task mbpp)

# t2_mbpp_bad(file stderr-regex): `t2 task show` on a bad file fails with one line (CMake
# splits arguments at semicolons: the regexes match them with ".")
function(t2_mbpp_bad file stderr)
  t2_mbpp_cli_test(${file} 1 "^t2 task show: error: [^ ]*/${file}\\.jsonl${stderr}" ""
    show --task mbpp --data ${T2_MBPP_DATA}/${file}.jsonl)
endfunction()
t2_mbpp_bad(mbpp_bad_json ":2: invalid JSON at column [0-9]+")
t2_mbpp_bad(mbpp_not_object ":2: the line is an array. expected one JSON object per line")
t2_mbpp_bad(mbpp_no_task_id
  ":1: key 'task_id' is missing. expected a non-empty string or an integer")
t2_mbpp_bad(mbpp_bad_task_id ":1: key 'task_id' is a real number. expected a non-empty string")
t2_mbpp_bad(mbpp_no_text ":2: key 'text' is missing. expected an MBPP record \\{\"task_id\"")
t2_mbpp_bad(mbpp_blank_code ":1: key 'code' is blank. expected the reference solution")
t2_mbpp_bad(mbpp_tests_not_list ":1: key 'test_list' is a string. expected an MBPP record")
t2_mbpp_bad(mbpp_tests_empty ":1: key 'test_list' is an empty list. expected at least one assert")
t2_mbpp_bad(mbpp_test_not_string
  ":1: key 'test_list', item 2 is an integer. expected a non-empty string of Python")
t2_mbpp_bad(mbpp_setup_not_string ":1: key 'test_setup_code' is an integer. expected an MBPP")
t2_mbpp_bad(mbpp_challenge_bad ":1: key 'challenge_test_list', item 1 is null. expected")
t2_mbpp_bad(mbpp_duplicate_id
  ":3: task_id '1' was already used by record 1. expected unique ids")
t2_mbpp_bad(mbpp_empty ": no records. expected an MBPP record")
