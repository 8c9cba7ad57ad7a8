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
# Known equivalent survivors (changes no caller can observe), by group:
# - redaction: secret_forms lists overlapping spellings on purpose (repr, JSON, unicode_escape and
#   the bytes repr coincide for most keys; quote(safe="") and quote_plus coincide without spaces),
#   so dropping or bending one that another still covers survives: `ensure_ascii=None` (falsy, as
#   False), `quote(key, safe="XXXX")` (letters are safe anyway), `quote(key, )` (then the same as
#   quote(key); quote_plus still gives the %2F spelling), codec and error-handler names in
#   another case ("UTF-8", "ASCII", "BACKSLASHREPLACE") or unknown ones that only matter for a lone
#   surrogate, `rstrip("XX=XX")` (base64 never ends in X here); `_patterns`' default "XXXX" for
#   an unset variable is shorter than MIN_SECRET_LENGTH, so it is dropped like "".
# - keys: `_login_key = ""` instead of None (both falsy wherever it is read).
# - credits: `credits_for`'s default "2X" for a missing highres type (lower-cased right after).
# - submission: `credits_for('IMAGINE')` (lower-cased), `matrix_of`'s final check (no prompt
#   today has jobs without axes or a different count), `_plain_params`' last branch (no parameter
#   value is anything but str/int/float/bool/None or a list).
# - wait-policy: the default "XXXX" of $APIFRAME_MAGIC_WAIT (neither a yes nor a no word, as "").
# - ingest: `in_order=None` (falsy, as False).
# - twin-budget, matrix-budget: the mutants of the budget functions only (jpeg_within, job_bundle,
#   group_bundle, composite_jpeg, matrix_bundle); the drawing inside contact_sheet and _draw
#   (positions, colours, fonts) is layout, checked by test_matrix's pixel tests, not budget, and so
#   are group_bundle's notes drawn into the contact sheet. Equivalent: thumbnail's resampling
#   filter, "JPEG"/"jpeg", "ascii"/"ASCII", the JPEG `optimize` flag and qualities one step off
#   (sizes move, every budget still holds), a wider `max_width` by one pixel, `min(257, ...)` or
#   `max(2, columns)` (the same cell size is tried first), true division for the largest cell
#   (compared, never used as a size), pictures looked up for unfinished jobs (they have none),
#   status words for a finished job (they are its state), job_bundle's `picture = ""` after a
#   failed read and its "failed" class for states that are already "failed".
# - prompt-validation: count_jobs' shortcut for prompts without braces (the general path gives the
#   same count), the guards for a missing --repeat in _too_many_jobs (a run over the limit always
#   has one: more permutations than the limit are refused before), _repeat_of's "XXXX" for a flag
#   without a value and `low < int(raw)` (a refused 1 falls back to 1).
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
  "ingest|apiframe_magic/jobs.py|*ingest* *x__is_older__mutmut*|tests/test_webhooks.py tests/test_jobs.py::test_ingest_checks_the_secret_dedupes_and_ignores_late_progress tests/test_jobs.py::test_webhooks_finish_a_job_without_polling"
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
