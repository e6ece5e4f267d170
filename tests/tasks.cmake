# Verifiable tasks (rl/task.h, rl/answer.h) and `t2 task`: answer extraction, prompts and
# their templates, the generators
# (determinism, disjoint splits, worked answers earning +1, references recomputed by
# independent solvers), dataset files (good and malformed) and the command line.
t2_add_test(NAME task_answer SOURCES test_task_answer.c LABELS tasks TIMEOUT 30)
t2_add_test(NAME task_samples SOURCES test_task_split.c LABELS tasks TIMEOUT 120 ARGS samples)
t2_add_test(NAME task_split SOURCES test_task_split.c LABELS tasks TIMEOUT 120 ARGS disjoint)
t2_add_test(NAME task_code SOURCES test_task_code.c LABELS tasks TIMEOUT 60)
t2_add_test(NAME task_math SOURCES test_task_math.c LABELS tasks TIMEOUT 60)
t2_add_test(NAME task_reasoning SOURCES test_task_reasoning.c LABELS tasks TIMEOUT 60)
t2_add_test(NAME task_dataset SOURCES test_task_dataset.c LABELS tasks TIMEOUT 30)
t2_add_test(NAME task_prompt SOURCES test_task_prompt.c LABELS tasks TIMEOUT 30)
t2_add_test(NAME task_dataset_real SOURCES test_task_dataset_real.c LABELS tasks TIMEOUT 60)
set_tests_properties(task_dataset_real PROPERTIES SKIP_RETURN_CODE 77)

# `t2 task`: the prediction files its score tests read come from one fixture test.
set(T2_TASK_PREDICTIONS ${CMAKE_CURRENT_BINARY_DIR}/task_predictions)
set(T2_TASK_DATA ${PROJECT_SOURCE_DIR}/tests/data/tasks)
t2_add_test(NAME task_make_predictions SOURCES test_task_make_predictions.c LABELS tasks
  TIMEOUT 30 ARGS ${T2_TASK_PREDICTIONS})
set_tests_properties(task_make_predictions PROPERTIES FIXTURES_SETUP task_predictions)

# t2_task_cli_test(name exit stderr-regex stdout-regex args...)
function(t2_task_cli_test name exit stderr stdout)
  t2_add_cli_test(NAME task_cli_${name} LABELS tasks TIMEOUT 30 EXIT ${exit}
    STDERR "${stderr}" STDOUT "${stdout}" FIXTURES task_predictions
    COMMAND ${T2_EXE} task ${ARGN})
endfunction()

t2_task_cli_test(help 0 "" "usage: t2 task list" --help)
t2_task_cli_test(show_help 0 "" "--jsonl +print one JSON object per sample" show --help)
t2_task_cli_test(score_help 0 "" "--predictions FILE +the completions" score --help)
t2_task_cli_test(list_help 0 "" "usage: t2 task list" list --help)
t2_task_cli_test(list 0 "" "mc_math +held-out +3 " list)
t2_task_cli_test(show 0 "" "== 0  id 0  answer [0-9]+  \\(numeric match\\)" show --task math
  -n 2)
t2_task_cli_test(show_prompt 0 "" "^Question: [A-Z][a-z]+ has [0-9]+ [a-z]+" show --task math)
t2_task_cli_test(show_level_split 0 "" "math \\(train split of 200000 samples, level 1, seed 9\\)"
  show --task math --split train --level 1 --seed 9 --start 5)
t2_task_cli_test(show_jsonl 0 ""
  "^\\{\"id\":\"3\",\"prompt\":\"Question: .*\\\\nAnswer:\",\"answer\":\"[A-E]\",\"worked\":\" .*The answer is [A-E]\\.\\\\n\",\"match\":\"choice\",\"category\":\"reasoning\"\\}$"
  show --task reasoning --jsonl --start 3 -n 1)
t2_task_cli_test(show_gsm8k 0 "" "== 1  id 1  answer 1000  \\(numeric match\\)" show --task gsm8k
  --data ${T2_TASK_DATA}/gsm8k.jsonl)
t2_task_cli_test(show_arc 0 "" "^4\\. squid$" show
  --task arc --data ${T2_TASK_DATA}/arc_hf.jsonl)
t2_task_cli_test(show_start_past_end 1 "t2 task show: error: --start: 5 is past the last sample. expected 0 to 4"
  "" show --task gsm8k --data ${T2_TASK_DATA}/gsm8k.jsonl --start 5)

# Scoring: the worked answers score 100 %, shifted ones less, other seeds less.
t2_task_cli_test(score_right 0 "" "accuracy: +1\\.0000" score --task math
  --predictions ${T2_TASK_PREDICTIONS}/math_right.jsonl)
t2_task_cli_test(score_right_count 0 "" "^correct: +1000$" score --task math
  --predictions ${T2_TASK_PREDICTIONS}/math_right.jsonl)
t2_task_cli_test(score_shuffled 0 "" "accuracy: +0\\.[0-9]{4}" score --task math
  --predictions ${T2_TASK_PREDICTIONS}/math_shuffled.jsonl)
t2_task_cli_test(score_reasoning_right 0 "" "accuracy: +1\\.0000" score --task reasoning
  --split test --predictions ${T2_TASK_PREDICTIONS}/reasoning_right.jsonl)
t2_task_cli_test(score_reasoning_shuffled 0 "" "accuracy: +0\\.[0-9]{4}" score --task reasoning
  --predictions ${T2_TASK_PREDICTIONS}/reasoning_shuffled.jsonl)
t2_task_cli_test(score_seed_level 0 "" "accuracy: +1\\.0000" score --task math --seed 5
  --level 2 --predictions ${T2_TASK_PREDICTIONS}/math_seed5.jsonl)
t2_task_cli_test(score_other_seed 0 "" "accuracy: +0\\.[0-9]{4}" score --task math
  --predictions ${T2_TASK_PREDICTIONS}/math_seed5.jsonl)
t2_task_cli_test(score_gsm8k 0 "" "accuracy: +1\\.0000" score --task gsm8k --data ${T2_TASK_DATA}/gsm8k.jsonl
  --predictions ${T2_TASK_PREDICTIONS}/gsm8k_right.jsonl)
t2_task_cli_test(score_qa 0 "" "accuracy: +0\\.8000" score --task qa --data ${T2_TASK_DATA}/qa.jsonl
  --predictions ${T2_TASK_DATA}/qa_predictions.jsonl)
t2_task_cli_test(score_qa_no_answer 0 "" "^no answer: +1$" score --task qa
  --data ${T2_TASK_DATA}/qa.jsonl --predictions ${T2_TASK_DATA}/qa_predictions.jsonl)

# Bad input: one line, exit 2 for usage, 1 for files.
t2_task_cli_test(no_subcommand 2 "usage: t2 task list" "")
t2_task_cli_test(bad_subcommand 2 "t2 task: error: unknown subcommand 'run'. expected list, show, score or eval" "" run)
t2_task_cli_test(no_task 2 "t2 task show: error: --task NAME is required. one of math, code" "" show)
t2_task_cli_test(unknown_task 2 "--task: unknown task 'algebra'. expected one of math" "" show
  --task algebra)
t2_task_cli_test(bad_split 2 "--split: 'dev' is not a split. expected train or test" "" show
  --task math --split dev)
t2_task_cli_test(bad_level 2 "--level: '9' is not valid. expected an integer in \\[1, 5\\]" ""
  show --task math --level 9)
t2_task_cli_test(bad_n 2 "--n: '0' is not valid" "" show --task math -n 0)
t2_task_cli_test(bad_option 2 "unknown option or missing value '--colour'" "" show --task math
  --colour)
t2_task_cli_test(extra_argument 2 "unexpected argument 'more'" "" show --task math more)
t2_task_cli_test(data_for_generator 2 "task 'math' is built in. --data applies to gsm8k, arc, qa and mbpp"
  "" show --task math --data ${T2_TASK_DATA}/qa.jsonl)
t2_task_cli_test(no_data 2 "task 'gsm8k' reads a JSON-lines file. give --data FILE" "" show
  --task gsm8k)
t2_task_cli_test(split_for_dataset 2 "--split, --level and the sizes apply to built-in tasks" ""
  score --task qa --data ${T2_TASK_DATA}/qa.jsonl --split test --predictions x)
t2_task_cli_test(no_predictions 2 "--predictions FILE is required" "" score --task math)
t2_task_cli_test(jsonl_for_score 2 "'--jsonl' applies to 't2 task show'" "" score --task math
  --jsonl --predictions x)
t2_task_cli_test(missing_data 1 "t2 task show: error: .*/absent\\.jsonl: cannot open" "" show
  --task qa --data ${T2_TASK_DATA}/absent.jsonl)
t2_task_cli_test(malformed_data 1 "gsm8k_bad_json\\.jsonl:3: invalid JSON at column [0-9]+" ""
  show --task gsm8k --data ${T2_TASK_DATA}/gsm8k_bad_json.jsonl)
t2_task_cli_test(malformed_arc 1 "arc_bad_key\\.jsonl:3: answerKey 'E' is not a choice label" ""
  score --task arc --data ${T2_TASK_DATA}/arc_bad_key.jsonl --predictions x)
t2_task_cli_test(missing_predictions 1 "t2 task score: error: .*/absent\\.jsonl: cannot open" ""
  score --task math --predictions ${T2_TASK_DATA}/absent.jsonl)
t2_task_cli_test(predictions_bad_json 1 "predictions_bad_json\\.jsonl:2: invalid JSON at column" ""
  score --task math --predictions ${T2_TASK_DATA}/predictions_bad_json.jsonl)
t2_task_cli_test(predictions_unknown_id 1
  "predictions_unknown_id\\.jsonl:2: id '1000' is not a sample of task 'math' \\(1000 samples\\)"
  "" score --task math --predictions ${T2_TASK_DATA}/predictions_unknown_id.jsonl)
t2_task_cli_test(predictions_repeated 1
  "predictions_repeated\\.jsonl:3: id '0' was already scored on line 1" "" score --task math
  --predictions ${T2_TASK_DATA}/predictions_repeated.jsonl)
t2_task_cli_test(predictions_no_completion 1
  "predictions_no_completion\\.jsonl:1: key 'completion' is missing" "" score --task math
  --predictions ${T2_TASK_DATA}/predictions_no_completion.jsonl)
t2_task_cli_test(predictions_no_id 1 "gsm8k\\.jsonl:1: key 'id' is missing" "" score
  --task math --predictions ${T2_TASK_DATA}/gsm8k.jsonl)
t2_task_cli_test(predictions_blank 1 "predictions_blank\\.jsonl: no predictions" "" score
  --task math --predictions ${T2_TASK_DATA}/predictions_blank.jsonl)

# The second pair of held-out tasks (math_shift, code_shift): independent solvers, rewards,
# levels, determinism and disjoint splits.
t2_add_test(NAME task_heldout2 SOURCES test_task_heldout2.c LABELS tasks TIMEOUT 60)
