# rollout: the maths of the rollout loss (rl/rollout.h, rl/rollout_loss.h) — advantages,
# loss weights, the exact KL and its gradient against hand-computed values and finite
# differences — and the refusal of off-policy sampling for REINFORCE, on 2 ranks, before any
# model is loaded (the model folder does not exist).
t2_add_test(NAME rollout_loss SOURCES test_rollout_loss.c model_fixture.c LABELS train
  TIMEOUT 60)
# the distillation term of pretraining (rl/distill_loss.h) by hand and by finite differences
t2_add_test(NAME distill_loss SOURCES test_distill_loss.c LABELS train)
t2_add_test(NAME rollout_kl SOURCES test_rollout_kl.c test_adapter_fixture.c
  test_train_reference.c LABELS train TIMEOUT 120)

set(RO_OFF "with objective reinforce samples off-policy. expected")
set(RO_TRAIN ${T2_EXE} train --model ${CMAKE_CURRENT_BINARY_DIR}/rollout-no-model --task math
  --steps 1 --out ${CMAKE_CURRENT_BINARY_DIR}/rollout-offpolicy.expert)
foreach(case "temperature;0.7;1" "temperature;0;1" "top_k;40;0" "top_p;0.9;1")
  list(GET case 0 key)
  list(GET case 1 value)
  list(GET case 2 expected)
  string(REPLACE "_" "-" flag ${key})
  t2_add_cli_test(NAME rollout_offpolicy_${key}_${value} RANKS 2 EXIT 2 LABELS train_rl cli
    TIMEOUT 60 STDERR "^t2 train: error: ${key}: ${value} ${RO_OFF} ${expected} \\("
    COMMAND ${RO_TRAIN} --${flag} ${value})
endforeach()
# the same from a config file; and sft, which samples nothing, is not refused (it stops later,
# at the missing model)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/rollout-offpolicy.cfg "temperature = 0.5;\n")
t2_add_cli_test(NAME rollout_offpolicy_config RANKS 2 EXIT 2 LABELS train_rl cli TIMEOUT 60
  STDERR "^t2 train: error: temperature: 0.5 ${RO_OFF} 1 \\("
  COMMAND ${T2_EXE} train ${CMAKE_CURRENT_BINARY_DIR}/rollout-offpolicy.cfg
          --model ${CMAKE_CURRENT_BINARY_DIR}/rollout-no-model --task math --steps 1
          --out ${CMAKE_CURRENT_BINARY_DIR}/rollout-offpolicy.expert)
t2_add_cli_test(NAME rollout_offpolicy_sft RANKS 2 EXIT 1 LABELS train_rl cli TIMEOUT 60
  STDERR "rollout-no-model"
  COMMAND ${RO_TRAIN} --objective sft --temperature 0.7 --top-k 5 --method lora)
