#!/usr/bin/env bash
# Hearth's device kit: runs Hearth's bench and a short `hearth train` on a bare x86-64 Linux machine that has a GPU
# driver and nothing else (no Node, no npm, no network). It unpacks the kit's Node, Dawn and bundles into a temporary
# folder, finds the GPU's Vulkan driver, and hands over to the kit's driver (driver.mjs), which probes the adapter,
# runs the sections in order within the time budget, and writes kit_report.txt (everything printed) and
# kit_results.json (every figure) into the results folder. Built by `npm run kit`; see README, "The device kit".
set -uo pipefail

usage() {
  cat <<'EOF'
usage: run.sh [--out DIR] [--budget SECONDS] [--sections LIST] [--section-limit SECONDS] [--quick]
              [--train-args "ARGS"] [--swiftshader[=ICD]] [--kit-libs missing|all] [--work DIR] [--keep]

  --out DIR            results folder (default: $OUT); gets kit_report.txt and kit_results.json
  --budget S           seconds for the whole run, unpacking included (default 300); sections that would start
                       too late are skipped, one that runs too long is stopped, and the results are written
  --sections LIST      comma-separated, run in this order after the adapter probe (default:
                       matmul,train,fp16,memory,hearth_train,profile,attention,generate); bench sections, plus
                       hearth_train (the CLI trains on a generated corpus) and profile (bench --profile)
  --section-limit S    the most seconds one section may take (default: a third of the budget)
  --quick              bench --quick: matmul at one small shape (checks that everything runs)
  --train-args "ARGS"  arguments for `hearth train` instead of the defaults (GPT-2 124M on a real GPU, the toy
                       model on SwiftShader); --data and --out are the kit's
  --swiftshader[=ICD]  use SwiftShader (Vulkan on the CPU) instead of the GPU, for testing the kit on a machine
                       without one (default ICD /usr/lib/chromium/vk_swiftshader_icd.json; or HEARTH_KIT_DRIVER=swiftshader)
  --kit-libs WHICH     the kit's Vulkan loader and libraries: 'missing' (default) uses those the system lacks,
                       'all' uses every one
  --work DIR           unpack into a new folder under DIR (default: $TMPDIR or /tmp; it must allow executables)
  --keep               keep the unpacked folder (its path is printed)

The Vulkan driver: VK_DRIVER_FILES or VK_ICD_FILENAMES when set; else NVIDIA's ICD files under /usr/share/vulkan,
/etc/vulkan, /usr/local/share/vulkan or /usr/local/nvidia; else ICD files the kit writes for NVIDIA's libraries
(libEGL_nvidia, libGLX_nvidia) where found; then any other ICD. The driver probes them in that order and takes the
first that gives a GPU adapter.
EOF
}

started=${EPOCHSECONDS:-$(date +%s)}
out=${OUT:-}
budget=300
sections=''
section_limit=''
quick=0
train_args=''
train_args_given=0
swiftshader=''
[ "${HEARTH_KIT_DRIVER:-}" = swiftshader ] && swiftshader=/usr/lib/chromium/vk_swiftshader_icd.json
kit_libs=missing
work_root=${TMPDIR:-/tmp}
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=${2:?--out needs a folder}; shift ;;
    --out=*) out=${1#*=} ;;
    --budget) budget=${2:?--budget needs seconds}; shift ;;
    --budget=*) budget=${1#*=} ;;
    --sections) sections=${2:?--sections needs a list}; shift ;;
    --sections=*) sections=${1#*=} ;;
    --section-limit) section_limit=${2:?--section-limit needs seconds}; shift ;;
    --section-limit=*) section_limit=${1#*=} ;;
    --quick) quick=1 ;;
    --train-args) train_args=${2?--train-args needs arguments}; train_args_given=1; shift ;;
    --train-args=*) train_args=${1#*=}; train_args_given=1 ;;
    --swiftshader) swiftshader=/usr/lib/chromium/vk_swiftshader_icd.json ;;
    --swiftshader=*) swiftshader=${1#*=} ;;
    --kit-libs) kit_libs=${2:?--kit-libs needs missing or all}; shift ;;
    --kit-libs=*) kit_libs=${1#*=} ;;
    --work) work_root=${2:?--work needs a folder}; shift ;;
    --work=*) work_root=${1#*=} ;;
    --keep) keep=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (run.sh --help lists them)" >&2; exit 2 ;;
  esac
  shift
done
case $budget in '' | *[!0-9]*) echo "run.sh: --budget takes whole seconds, got '$budget'" >&2; exit 2 ;; esac
case $section_limit in *[!0-9]*) echo "run.sh: --section-limit takes whole seconds, got '$section_limit'" >&2; exit 2 ;; esac
case $kit_libs in missing | all) ;; *) echo "run.sh: --kit-libs takes missing or all, got '$kit_libs'" >&2; exit 2 ;; esac
if [ -z "$out" ]; then
  echo 'run.sh: no results folder: give --out DIR or set OUT' >&2
  exit 2
fi
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
case $0 in */*) kit=${0%/*} ;; *) kit=. ;; esac
kit=$(cd "$kit" && pwd)

# Prints where the dynamic linker finds library $1 (the system's cache, then NVIDIA's and the usual folders).
find_library() {
  local name=$1 line dir
  while IFS= read -r line; do
    case $line in *"$name "*'=> '*) echo "${line##*=> }"; return 0 ;; esac
  done < <(ldconfig_p)
  for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib64; do
    [ -e "$dir/$name" ] && { echo "$dir/$name"; return 0; }
  done
  return 1
}

ldconfig_p() {
  local c
  for c in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
    if command -v "$c" >/dev/null 2>&1; then "$c" -p 2>/dev/null; return 0; fi
  done
}

# gzip is on every Debian and Ubuntu (Essential); Python's gzip module is the fallback.
gunzip_to() {
  gzip -dc "$1" >"$2" 2>/dev/null && return 0
  python3 -c 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
}

main() {
  echo "== hearth device kit =="
  echo "kit: $kit"
  echo "results: $out; budget ${budget} s"
  local work
  work=$(mktemp -d "$work_root/hearth-kit.XXXXXX") || return 2
  if [ "$keep" = 1 ]; then echo "unpacked in $work (kept)"; else trap "rm -rf '$work'" EXIT; fi

  mkdir -p "$work/bin" "$work/lib" "$work/icd" "$work/node_modules/webgpu/dist/linux-x64"
  local f
  gunzip_to "$kit/node.gz" "$work/bin/node" && chmod 755 "$work/bin/node" || { echo "could not unpack Node"; return 2; }
  gunzip_to "$kit/webgpu/dawn.node.gz" "$work/node_modules/webgpu/dist/linux-x64/dawn.node" ||
    { echo "could not unpack dawn.node"; return 2; }
  # Copies, not links: Node resolves a link to its target and would look for dawn.node beside that.
  cp "$kit/webgpu/index.js" "$kit/webgpu/package.json" "$work/node_modules/webgpu/" || return 2
  for f in bench hearth driver; do
    gunzip_to "$kit/js/$f.mjs.gz" "$work/$f.mjs" || { echo "could not unpack $f.mjs"; return 2; }
  done
  if ! "$work/bin/node" --version >/dev/null; then
    echo "the kit's Node does not run from $work (a folder mounted noexec? pass --work DIR)"
    return 2
  fi
  echo "node: $("$work/bin/node" --version)"

  # The kit's libraries (the Vulkan loader, and what NVIDIA's Vulkan driver links against) where the system lacks them.
  local cache used='' name
  cache=$(ldconfig_p)
  for f in "$kit"/lib/*.so*; do
    name=${f##*/}
    if [ "$kit_libs" = all ] || [[ $cache != *"$name "* ]]; then
      ln -s "$f" "$work/lib/$name"
      used+=" $name"
    fi
  done
  echo "kit libraries used:${used:- none (the system has them all)}"
  local path="$work/lib" dir
  for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$dir" ] && path+=":$dir"; done
  export LD_LIBRARY_PATH="$path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$work}

  # Vulkan drivers to try, best first.
  local icds=() lib
  if [ -n "$swiftshader" ]; then
    icds=("$swiftshader")
  elif [ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
    icds=("${VK_DRIVER_FILES:-$VK_ICD_FILENAMES}")
  else
    local dirs=(/usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d
      /usr/local/nvidia/share/vulkan/icd.d /usr/local/nvidia/etc/vulkan/icd.d)
    for dir in "${dirs[@]}"; do
      for f in "$dir"/nvidia*.json; do [ -f "$f" ] && icds+=("$f"); done
    done
    # NVIDIA's Vulkan driver lives in its EGL and GLX libraries; EGL first, as it needs no X libraries.
    for lib in libEGL_nvidia.so.0 libGLX_nvidia.so.0; do
      if f=$(find_library "$lib"); then
        printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' "$f" \
          >"$work/icd/${lib%%.so.0}.json"
        icds+=("$work/icd/${lib%%.so.0}.json")
      fi
    done
    for dir in "${dirs[@]}"; do
      for f in "$dir"/*.json; do [[ -f $f && ${f##*/} != nvidia* ]] && icds+=("$f"); done
    done
  fi
  echo "Vulkan drivers to try: ${icds[*]:-none found}"
  unset VK_DRIVER_FILES VK_ICD_FILENAMES

  local args=(--kit "$kit" --out "$out" --started "$started" --budget "$budget")
  [ -n "$sections" ] && args+=(--sections "$sections")
  [ -n "$section_limit" ] && args+=(--section-limit "$section_limit")
  [ "$quick" = 1 ] && args+=(--quick)
  [ "$train_args_given" = 1 ] && args+=(--train-args "$train_args")
  [ -n "$swiftshader" ] && args+=(--software)
  local icd
  for icd in "${icds[@]}"; do args+=(--icd "$icd"); done
  args+=(--kit-libs "${used# }")
  "$work/bin/node" "$work/driver.mjs" "${args[@]}"
}

main 2>&1 | tee "$out/kit_report.txt"
exit "${PIPESTATUS[0]}"
