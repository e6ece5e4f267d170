# slurm/config.sh: the one file to edit before running t2 on a Slurm cluster (docs/slurm.md).
# slurm/submit.sh reads it when it submits a job (the resources below become sbatch options),
# and every job reads it again when it starts (paths and settings). Plain shell: VAR=value.
# Every path must be visible under the same name on every node (a shared file system).
# Another file can stand in for this one: T2_CONFIG=/path/to/mine.sh slurm/submit-all.sh
# (it may start with ". $T2_SLURM_DIR/config.sh" and change a few values).

# --- Where things are. T2_SLURM_DIR is this folder, set by submit.sh.
T2_ROOT=$(cd "$T2_SLURM_DIR/.." && pwd)   # the t2 source tree
T2=$T2_ROOT/build/t2                        # the t2 binary (cmake --build build)
T2_MODEL=$T2_ROOT/assets/default-model      # base model folder (Hugging Face layout)
T2_CONFIGS=$T2_ROOT/configs                 # train-<expert>.cfg, one per expert
T2_WORK=$T2_ROOT/run                        # store, experts, checkpoints, bundle, reports
T2_LOGS=$T2_WORK/logs                       # job logs: <job name>-<job id>.out

# --- Cluster resources.
T2_PARTITION=""         # sbatch --partition (empty: the cluster's default partition)
T2_ACCOUNT=""           # sbatch --account (empty: your default account)
T2_NODES=2              # nodes of the MPI stages: decompose, train, eval, fewshot
T2_TASKS_PER_NODE=4     # MPI ranks per node
T2_CPUS_PER_TASK=1      # CPUs per rank; t2 runs that many BLIS threads per rank
T2_ARRAY_NODES=1        # nodes of each expert's job in the array (train-array)
T2_ARRAY_TASKS_PER_NODE=4 # MPI ranks per node of each expert's job in the array
T2_ARRAY_PARALLEL=0     # at most this many experts train at once (0: no limit)
T2_TIME_DECOMPOSE=01:00:00
T2_TIME_TRAIN=12:00:00  # one expert (train and each train-array task)
T2_TIME_BUNDLE=00:10:00
T2_TIME_EVAL=04:00:00
T2_TIME_FEWSHOT=01:00:00
T2_SBATCH_ARGS=""       # more sbatch options for every job, e.g. "--qos=normal --mem=0"

# --- How ranks are started: auto (srun --mpi=pmix when it works on this cluster, else
# mpirun on the allocation's nodes), srun or mpirun.
T2_LAUNCHER=auto
T2_SRUN_MPI=pmix                  # srun --mpi= (srun --mpi=list: e.g. pmix or pmix_v4)
T2_MPIRUN_ARGS="--bind-to none"   # mpirun only; srun takes the binding from Slurm
T2_LAUNCH_RETRIES=1               # launches tried again when a task crashed by a signal

# --- What the stages do.
T2_EXPERTS="math code reasoning"  # one expert per name, trained with $T2_CONFIGS/train-<name>.cfg
T2_CLASSIFIER=cls                 # the bundle's classifier expert (empty: none)
T2_DECOMPOSE_ARGS="--targets mlp" # t2 decompose flags; the store must cover the configs' targets
T2_TRAIN_ARGS=""                  # t2 train flags after the config file (they win over it)
T2_EVAL_ARGS="--tasks math,code,reasoning --strategies base,prompt,classifier,fewshot --n 200"
T2_EVAL_OUT=$T2_WORK/eval         # report.json and table.md
T2_FEWSHOT_TASK=mc_math           # built-in task whose train split gives the solved examples
T2_FEWSHOT_ARGS="--fewshot-examples 32 --fewshot-iterations 8 --fewshot-population 32"
T2_FEWSHOT_QUERY="Tom has 5 apples and buys 7 more. How many apples does Tom have?"
