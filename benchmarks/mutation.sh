#!/usr/bin/env bash
# Mutation testing (mutmut 3) over the modules that hold README's rules: each mutant is a small
# change to the code (a flipped comparison, a changed number, a dropped call); a test suite that
# lets a mutant pass ("survived") does not check that line. Run on demand, with the project's
# virtualenv active (`pip install -e '.[test]'` brings mutmut), not in .ci/run (it takes minutes
# per group on two cores):
#
#     bash benchmarks/mutation.sh                 # every group
#     bash benchmarks/mutation.sh redaction keys  # some groups
#
# Each group mutates its files only and runs only the test files that check them, in a scratch
# copy of the project ($MUTATION_WORK, default /tmp/apiframe-mutation/GROUP: mutmut 3 writes
# mutants/ beside pyproject.toml, so the work tree is never touched). It prints, per group,
# mutants, killed, survived (and timeouts / others), then the names of the survivors:
# `cd $MUTATION_WORK/GROUP && mutmut show NAME` shows one as a diff.
#
# Known equivalent survivors (changes no caller can observe), by group; where one could be
# written away without making the code less clear or less correct, it was:
# - redaction: `json.dumps(key, ensure_ascii=None)` (falsy, as False), `quote(data,
#   safe="XXXX")` (letters are always safe), `key.encode("UNICODE_ESCAPE")` (codec names are
#   case-insensitive).
# - keys: `_login_key = ""` instead of None, in __init__ and logout (both falsy wherever it is
#   read; whichever of the two is written, the other is its mutant).
# - credits: `credits_for`'s default "2X" for a missing highres type (lower-cased right after).
# - submission: none.
# - wait-policy (commands._should_wait, settings.forced_wait): none.
# - ingest (JobManager.ingest, jobs._is_older): none.
# - twin-budget (render.jpeg_within, job_bundle, group_bundle, task_codes; the drawing inside
#   contact_sheet is layout, checked by test_matrix's pixel tests, not budget): thumbnail's
#   resampling filter dropped or None (Pillow's default filter: sizes move, every budget
#   holds), "jpeg" for "JPEG" (Pillow's format names are case-insensitive), group_bundle
#   looking up the picture of a job that did not finish (it has none).
# - matrix-budget (matrix.composite_jpeg, matrix_bundle): `max_width` 2401 (the limit moves to
#   2201 px: every cell side is even, so no row of cells is 2201 px wide), "jpeg" for "JPEG".
# - prompt-validation: _repeat_of's "XXXX" for a --repeat without a value (not digits, as ""),
#   `spec.low < int(raw)` (a refused --repeat 1 falls back to 1 job all the same).
# Any other survivor is a missing test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${MUTATION_WORK:-/tmp/apiframe-mutation}
children=${MUTATION_CHILDREN:-2}
# Tests too slow to run once per mutant; faster tests check the same functions (the 40-job run
# through the magic: test_a_noise_matrix_of_forty_jobs_is_at_most_400_kb checks its budget).
deselect=${MUTATION_DESELECT:-not forty_job_run}

# name | files to mutate | functions to mutate (mutant-name patterns, "*" = all) | test files
groups=(
  "redaction|apiframe_magic/redaction.py|*|tests/test_keys.py tests/test_redaction.py"
  "keys|apiframe_magic/ipython/keys.py|*|tests/test_keys.py tests/test_keyring.py"
  "submission|apiframe_magic/submission.py|*|tests/test_submission.py tests/test_imagine_validation.py"
  "credits|apiframe_magic/credits.py|*|tests/test_credits.py"
  "twin-budget|apiframe_magic/static/render.py|*jpeg_within* *job_bundle* *group_bundle* *x_task_codes__mutmut*|tests/test_twin_budget.py tests/test_matrix.py"
  "matrix-budget|apiframe_magic/static/matrix.py|*composite_jpeg* *matrix_bundle*|tests/test_twin_budget.py tests/test_matrix.py"
  "frontend|apiframe_magic/ipython/frontend.py|*|tests/test_frontend.py"
  "wait-policy|apiframe_magic/ipython/commands.py apiframe_magic/settings.py|*x__should_wait__mutmut* *x_forced_wait__mutmut*|tests/test_frontend.py tests/test_settings.py"
  "ingest|apiframe_magic/jobs.py|*ingest* *x__is_older__mutmut*|tests/test_webhooks.py tests/test_jobs.py::test_ingest_checks_the_secret_dedupes_and_ignores_late_progress"
  "prompt-validation|apiframe_magic/prompt/validation.py|*|tests/test_prompt_counts.py tests/test_prompt_rules.py tests/test_prompt.py"
)

selected=("$@")
run_group() {
  local name=$1 files=$2 filter=$3 tests=$4 dir="$work/$1"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$root" && git ls-files -co --exclude-standard apiframe_magic tests pyproject.toml \
     | tar -cf - -T -) | tar -xf - -C "$dir"
  {
    echo; echo "[tool.mutmut]"
    echo 'source_paths = ["apiframe_magic"]'
    printf 'only_mutate = [%s]\n' "$(printf '"%s",' $files)"
    printf 'pytest_add_cli_args_test_selection = [%s]\n' "$(printf '"%s",' $tests)"
    echo "pytest_add_cli_args = [\"-p\", \"no:randomly\", \"-p\", \"no:cacheprovider\", \"-x\", \"-q\", \"-k\", \"$deselect\"]"
    echo 'use_git_change_detection = false'
  } >> "$dir/pyproject.toml"
  # shellcheck disable=SC2086  # the patterns are words, not file names
  (cd "$dir" && set -f && env -u PYTHONPATH python -m mutmut run --max-children "$children" \
     $filter > mutmut-run.log 2>&1) || { echo "$name: mutmut failed, see $dir/mutmut-run.log"; return 0; }
  (cd "$dir" && env -u PYTHONPATH python -m mutmut results --all true > results.txt 2>&1) || true
  python3 - "$name" "$dir/results.txt" "$filter" <<'EOF'
import fnmatch, sys
name, path, patterns = sys.argv[1:]
rows = [line.strip().rsplit(": ", 1) for line in open(path) if ": " in line]
rows = [(m, s) for m, s in rows if any(fnmatch.fnmatch(m, p) for p in patterns.split())]
count = {}
for _, status in rows:
    count[status] = count.get(status, 0) + 1
killed = count.get("killed", 0) + count.get("timeout", 0)
total = len(rows)
share = f"{100 * killed / total:.0f}%" if total else "-"
others = ", ".join(f"{k} {v}" for k, v in sorted(count.items()) if k not in ("killed", "survived"))
print(f"{name:18} mutants {total:4}  killed {killed:4} ({share})  survived "
      f"{count.get('survived', 0):3}" + (f"  [{others}]" if others else ""))
for mutant, status in rows:
    if status == "survived":
        print(f"    survived: {mutant}")
EOF
}

for entry in "${groups[@]}"; do
  IFS='|' read -r name files filter tests <<<"$entry"
  if [ ${#selected[@]} -eq 0 ] || [[ " ${selected[*]} " == *" $name "* ]]; then
    run_group "$name" "$files" "$filter" "$tests"
  fi
done
