# Shared by bin/infini and bin/infini-train: builds the runnable jar if it is missing, then runs
# it with DJL offline and one native math thread per Java thread. Sourced, not run.
#
# Environment: JAVA (default: java on PATH), INFINI_JAVA_OPTS (extra JVM flags, default -Xmx4g),
# INFINI_JAR (use this jar instead of building), ENGINE_CACHE_DIR (where libtorch is unpacked,
# default ~/.cache/infini-streams/djl), INFINI_THREADS (libtorch threads per Java thread,
# default 1: the application scales with stream threads instead; training may use more).

# launch ROOT JAR ARGS...: run JAR (relative to ROOT unless INFINI_JAR is set) with ARGS.
launch() {
  local root="$1" jar="${INFINI_JAR:-$1/$2}"
  shift 2
  if [[ ! -f "$jar" ]]; then
    echo "infini: building $jar (first run; takes a few minutes) ..." >&2
    (cd "$root" && mvn -B -q -Dstyle.color=never -DskipTests package) >&2
  elif [[ -z "${INFINI_JAR:-}" && -n "$(find "$root"/{schemas,model,tasks,topology,app,training} \
          -path '*/target' -prune -o -newer "$jar" -type f -print -quit 2>/dev/null)" ]]; then
    echo "infini: note: sources changed since $jar was built;" \
      "rebuild with: mvn -B -q -DskipTests package" >&2
  fi

  # One OpenMP/MKL thread per Java thread: two spinning OpenMP pools on busy cores are ~400x
  # slower.
  local threads="${INFINI_THREADS:-1}"
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$threads}"
  export MKL_NUM_THREADS="${MKL_NUM_THREADS:-$threads}"
  # libtorch is unpacked once, outside target/ so `mvn clean` keeps it.
  export ENGINE_CACHE_DIR="${ENGINE_CACHE_DIR:-$HOME/.cache/infini-streams/djl}"
  mkdir -p "$ENGINE_CACHE_DIR"

  # shellcheck disable=SC2086 # INFINI_JAVA_OPTS is a list of flags
  exec "${JAVA:-java}" ${INFINI_JAVA_OPTS:--Xmx4g} \
    -Dai.djl.offline=true \
    -Dai.djl.pytorch.num_threads="$threads" \
    -Dai.djl.pytorch.num_interop_threads=1 \
    -DENGINE_CACHE_DIR="$ENGINE_CACHE_DIR" \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -Dorg.slf4j.simpleLogger.log.io.infinistreams=info \
    -Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=error \
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.NetworkClient=error \
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka.controller.QuorumController=error \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
    -Dorg.slf4j.simpleLogger.showShortLogName=true \
    -Dorg.slf4j.simpleLogger.showThreadName=false \
    -jar "$jar" "$@"
}
