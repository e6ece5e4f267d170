# Sourced by test scripts that kill a run on purpose: starts a command in a session of its own
# and kills exactly that session's processes — the ones the test started — never processes
# chosen by name or command-line pattern (under ctest -j, a pattern also matches the runs of
# other tests, and any process of the user). mpiexec's ranks are its children in its session
# (Open MPI puts each rank in a process group of its own, so a process group would miss them;
# a session does not).
#   session_start FILE COMMAND...  runs COMMAND in the background in a new session; the
#                                  session's id is written to FILE before COMMAND starts, and
#                                  session_job is the background job's PID (for wait, kill -0)
#   session_kill FILE              SIGKILL to every process of that session, then returns once
#                                  none is left but zombies; nothing when the run had ended

session_start() {
    session_file=$1
    shift
    rm -f "$session_file"
    # -w: when setsid has to fork (its caller leads a process group), it waits for the child,
    # so session_job lives as long as COMMAND either way
    setsid -w sh -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$session_file" "$@" &
    session_job=$!
}

# The PIDs of the live (not zombie) processes of session $1.
session_members() {
    ps -e -o pid= -o sid= -o stat= | awk -v sid="$1" '$2 == sid && $3 !~ /^Z/ { print $1 }'
}

session_kill() {
    [ -s "$1" ] || return 0
    sid=$(cat "$1")
    while pids=$(session_members "$sid") && [ -n "$pids" ]; do
        kill -9 $pids 2>/dev/null || true
        sleep 0.1
    done
}
