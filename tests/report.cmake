# report: `t2 report` (cmd/report*.c, docs/report.md): the page, its PNGs and data files checked
# against the inputs by tests/report_check.py (tests/test_report.sh); every bad input and a
# missing or failing gnuplot, one line each; the few-shot search's iteration log on 2 ranks
# (dist/fewshot.h, tests/report_fewshot_log.c); the report `t2 demo` writes.
set(R ${CMAKE_CURRENT_BINARY_DIR}/report_out)
function(t2_report_script_test mode dir)
  add_test(NAME report_${mode} COMMAND sh ${PROJECT_SOURCE_DIR}/tests/test_report.sh ${mode}
    ${T2_EXE} ${PROJECT_SOURCE_DIR} ${dir})
  set_tests_properties(report_${mode} PROPERTIES ENVIRONMENT "${T2_TEST_ENV}" TIMEOUT 60
    LABELS report)
endfunction()
t2_report_script_test(pages ${R})
set_tests_properties(report_pages PROPERTIES FIXTURES_SETUP report_inputs)
# The demo's own report, after both demo runs (the second rewrites it).
t2_report_script_test(demo ${CMAKE_CURRENT_BINARY_DIR}/demo_out)
set_tests_properties(report_demo PROPERTIES FIXTURES_REQUIRED demo_run DEPENDS demo_rerun
  LABELS "report;demo")

t2_add_test(NAME report_fewshot_log SOURCES report_fewshot_log.c RANKS 2 LABELS "report;mpi"
  TIMEOUT 60 ARGS ${CMAKE_CURRENT_BINARY_DIR}/report_fewshot_log.jsonl)

# Bad inputs and runs: one line, exit 1 (usage errors 2). The inputs are the pages test's
# (R/in) and small files written here into R/bad.
set(B ${R}/bad)
t2_add_cli_test(NAME report_bad_inputs LABELS report TIMEOUT 30 FIXTURES report_inputs
  COMMAND sh -c "mkdir -p ${B} && printf 'hello\\n' >${B}/text.txt && printf '{\"a\": 1}\\n' >${B}/other.jsonl && : >${B}/empty.jsonl && head -n 1 ${R}/in/math.jsonl >${B}/short.jsonl && printf '{\"step\": 2, \"reward_mean\": 0}\\n' >>${B}/short.jsonl && printf '{\"command\": \"transfer\", \"results\": []}\\n' >${B}/transfer.json")
set_tests_properties(report_bad_inputs PROPERTIES FIXTURES_SETUP report_bad DEPENDS report_pages)
# t2_report_cli_test(name exit stderr-regex args...)
function(t2_report_cli_test name exit stderr)
  t2_add_cli_test(NAME report_${name} LABELS report TIMEOUT 30 EXIT ${exit}
    STDERR "${stderr}" FIXTURES "report_inputs;report_bad" COMMAND ${T2_EXE} report ${ARGN})
endfunction()
t2_report_cli_test(no_gnuplot 1
  "^t2 report: error: /nonexistent-t2/gnuplot: not found. expected the gnuplot program \\(Debian package gnuplot-nox, which scripts/setup\\.sh installs\\) on PATH or given by --gnuplot$"
  --gnuplot /nonexistent-t2/gnuplot --out ${R}/x1 ${R}/in/code.jsonl)
t2_report_cli_test(gnuplot_fails 1
  "^t2 report: error: /bin/false: exited with status 1 running .*/x2/report\\.gp. expected success \\(its output is in .*/x2/gnuplot\\.log\\)$"
  --gnuplot /bin/false --out ${R}/x2 ${R}/in/code.jsonl)
t2_report_cli_test(not_json 1
  "^t2 report: error: .*/text\\.txt: line 1: .*. expected one JSON object per line$"
  --out ${R}/x3 ${B}/text.txt)
t2_report_cli_test(unknown_lines 1
  "^t2 report: error: .*/other\\.jsonl: line 1 holds neither 'step' \\(training metrics\\) nor 'search' and 'iteration' \\(a fewshot_log\\). expected"
  --out ${R}/x3 ${B}/other.jsonl)
t2_report_cli_test(empty 1 "^t2 report: error: .*/empty\\.jsonl: empty. expected t2 train's metrics"
  --out ${R}/x3 ${B}/empty.jsonl)
t2_report_cli_test(missing_field 1
  "^t2 report: error: .*/short\\.jsonl: line 2: 'reward_std' is missing. expected a number$"
  --out ${R}/x3 ${B}/short.jsonl)
t2_report_cli_test(other_report 1
  "^t2 report: error: .*/transfer\\.json: a JSON report of 'transfer'. expected one of t2 eval$"
  --out ${R}/x3 ${B}/transfer.json)
t2_report_cli_test(missing_file 1 "^t2 report: error: .*/nope\\.jsonl: .*No such file"
  --out ${R}/x3 ${B}/nope.jsonl)
t2_report_cli_test(unwritable 1
  "^t2 report: error: /nonexistent-t2/out: cannot create the folder: No such file or directory. expected"
  --out /nonexistent-t2/out ${R}/in/code.jsonl)
t2_report_cli_test(no_out 2 "--out DIR is required" ${R}/in/code.jsonl)
t2_report_cli_test(no_file 2 "expected at least one FILE" --out ${R}/x3)
t2_add_cli_test(NAME report_help LABELS report STDOUT "^usage: t2 report --out DIR"
  COMMAND ${T2_EXE} report --help)
t2_add_cli_test(NAME report_main_help LABELS report STDOUT "^  report +an HTML page"
  COMMAND ${T2_EXE} --help)
