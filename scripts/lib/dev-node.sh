# Sourced by the end-to-end scripts that run a development node (Ganache,
# Hardhat): a free loopback port, the node started in the background and
# waited for until it answers eth_chainId, and stopped by its PID whatever
# happens (an EXIT trap; its output is shown when the script fails).
#
#   dev_node_start NAME LOG URL SECONDS -- COMMAND...   start, wait (sets DEV_NODE_PID)
#   dev_node_stop                                      stop the running one
#   free_port                                          a port the kernel picked

DEV_NODE_PID=""
DEV_NODE_NAME=""
DEV_NODE_LOG=""

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

dev_node_stop() {
  if [ -n "$DEV_NODE_PID" ] && kill -0 "$DEV_NODE_PID" 2>/dev/null; then
    kill "$DEV_NODE_PID" 2>/dev/null || true
    wait "$DEV_NODE_PID" 2>/dev/null || true
  fi
  DEV_NODE_PID=""
}

dev_node_on_exit() {
  status=$?
  dev_node_stop
  if [ "$status" -ne 0 ] && [ -n "$DEV_NODE_LOG" ]; then
    echo "$DEV_NODE_NAME: failed; the node's output ($DEV_NODE_LOG):" >&2
    tail -n 50 "$DEV_NODE_LOG" >&2 || true
  fi
  exit "$status"
}
trap dev_node_on_exit EXIT
trap 'exit 130' INT TERM

dev_node_start() {
  DEV_NODE_NAME=$1
  DEV_NODE_LOG=$2
  local url=$3 seconds=$4
  shift 5 # NAME LOG URL SECONDS --
  "$@" >"$DEV_NODE_LOG" 2>&1 &
  DEV_NODE_PID=$!
  local probe='fetch(process.argv[1],{method:"POST",headers:{"content-type":"application/json"},body:JSON.stringify({jsonrpc:"2.0",id:1,method:"eth_chainId",params:[]})}).then(r=>r.json()).then(j=>process.exit(j.result?0:1),()=>process.exit(1))'
  for _ in $(seq 1 $((seconds * 4))); do
    if node -e "$probe" "$url" 2>/dev/null; then
      echo "$DEV_NODE_NAME: the node (pid $DEV_NODE_PID) answers on $url"
      return 0
    fi
    if ! kill -0 "$DEV_NODE_PID" 2>/dev/null; then
      echo "$DEV_NODE_NAME: the node exited before answering" >&2
      return 1
    fi
    sleep 0.25
  done
  echo "$DEV_NODE_NAME: the node did not answer on $url within ${seconds}s" >&2
  return 1
}
